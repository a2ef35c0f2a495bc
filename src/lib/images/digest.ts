/**
 * sha256 for content digests. node:crypto is required on first use, not when the bundle loads: every
 * start-up of the CLI would pay for it (≈2 ms), though only image commands hash anything.
 */
import type {Hash} from 'node:crypto'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = (): typeof import('node:crypto') => require('node:crypto')

/** A streaming sha256. */
export function sha256Hash(): Hash {
  return crypto().createHash('sha256')
}

/** `sha256:<hex>` of the data. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${sha256Hash().update(data).digest('hex')}`
}
