/**
 * Random hex for generated names (exec IDs, bench prefixes, staging directories). Web Crypto's global
 * `crypto`, not node:crypto: the global loads on first use, node:crypto at every start-up of the bundle
 * (≈2 ms), though most commands never make a name.
 */
export function randomHex(bytes: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
}
