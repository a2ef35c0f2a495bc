/**
 * vitest globalSetup: installs the system packages if missing (scripts/install-deps.sh), starts ONE private
 * containerd for the whole run and provides it to tests:
 *
 *   import {inject} from 'vitest'
 *   const {address, dir, bundle} = inject('containerd')
 *
 * address: the daemon's socket path; dir: its directory (log: dir/containerd.log); bundle: a ready OCI bundle
 * (`sleep 3600`, busybox rootfs, bundle-relative root.path) that tests may use read-only (make their own with
 * makeBundle for anything else). Teardown stops the daemon, its shims and containers, and removes dir.
 * Tests that need to restart or kill a daemon start their own with startPrivateContainerd() (and stop() it in
 * afterAll; what they leak is swept at teardown, and leftovers of killed runs at the next start).
 * All test files share this daemon, and runc state and cgroups are keyed by namespace/id machine-wide (shared
 * with every other containerd here, e.g. another engineer's run): give each test file its own namespace,
 * uniqueName('files') from ./daemon.
 */
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'

import {SCRIPTS_DIR, startPrivateContainerd, sweepStaleDaemons} from './daemon'

export interface TestContainerd {
  address: string
  dir: string
  bundle: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    containerd: TestContainerd
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync('bash', [join(SCRIPTS_DIR, 'install-deps.sh')], {stdio: ['ignore', 'inherit', 'inherit']})
  await report('before the run', await sweepStaleDaemons())
  const started = Date.now()
  const daemon = await startPrivateContainerd()
  if (process.env.CTR_TEST_VERBOSE) console.error(`containerd ${daemon.address} (PID ${daemon.pid}) ready in ${Date.now() - started} ms`)
  project.provide('containerd', {address: daemon.address, dir: daemon.dir, bundle: daemon.bundle})
  // Detached starts keep log files (src/lib/logs.ts): in the daemon's directory, removed with it, never in
  // the machine's /var/lib/ctr/logs. Workers inherit this environment, and the CLI theirs.
  process.env.CTR_LOG_DIR ??= join(daemon.dir, 'logs')
  return async () => {
    await daemon.stop()
    // Private daemons tests started and never stopped (their worker processes are gone by now).
    await report('left by tests', await sweepStaleDaemons())
  }
}

async function report(when: string, dirs: string[]): Promise<void> {
  if (dirs.length > 0) console.warn(`global-setup: stopped ${dirs.length} stale private containerd(s) ${when}: ${dirs.join(', ')}`)
}
