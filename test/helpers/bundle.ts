/**
 * OCI bundles for tests: a static-busybox rootfs and a `runc spec` config.json. The one implementation is
 * scripts/make-bundle.sh (which caches the base rootfs and spec, so a bundle costs ~60-80 ms: a copy plus one
 * node run); this module calls it.
 *
 *   const bundle = await makeBundle(join(tmp, 'b1'), ['sh', '-c', 'echo hi'], {env: ['FOO=bar']})
 */
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {SCRIPTS_DIR} from './daemon'

export interface BundleOptions {
  /** process.terminal (default false). */
  terminal?: boolean
  /** KEY=VALUE entries added to process.env, replacing same-named ones (PATH is always set). */
  env?: string[]
  /** Replace a bundle already in dir (default: fail if dir holds one). */
  force?: boolean
}

/**
 * Creates an OCI bundle in dir (missing or empty): dir/rootfs (busybox applets in /bin, /tmp 1777, /etc/passwd
 * and /etc/group with root and user 1000 "user", /home/user) and dir/config.json with process.args = args
 * (default `sleep 3600`), process.terminal, PATH in process.env, root = {path: "rootfs", readonly: false}
 * (bundle-relative, as `runc spec` writes it). Resolves with the absolute bundle path.
 */
export function makeBundle(dir: string, args: readonly string[] = [], options: BundleOptions = {}): Promise<string> {
  const bundle = resolve(dir)
  const flags: string[] = []
  if (options.terminal) flags.push('--terminal')
  for (const entry of options.env ?? []) flags.push('--env', entry)
  if (options.force) flags.push('--force')
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [join(SCRIPTS_DIR, 'make-bundle.sh'), ...flags, '--', bundle, ...args], {timeout: 30_000, encoding: 'utf8'}, (error, _stdout, stderr) => {
      if (error) reject(new Error(`make-bundle.sh ${bundle} failed: ${stderr || error.message}`))
      else resolvePromise(bundle)
    })
  })
}

/** The bundle's config.json, parsed (a loose OCI runtime spec). */
export async function readBundleSpec(bundle: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'))
}
