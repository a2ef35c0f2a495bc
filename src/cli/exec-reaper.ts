/**
 * A detached exec's clean-up runs after ctr has returned: ctr starts itself once more as
 * `containers reap-exec` in its own session (no terminal, no stdio), which waits for the process to exit and
 * then deletes it (lib/tasks/exec-exits.ts). One small process per detached exec while it runs, as
 * `docker exec -d` leaves the work to dockerd; a failure to start it only means the exited process stays
 * until `containers delete --exec-id`, or until its ID is used again. At nice 19: its start-up (≈100 ms of
 * CPU) then never slows down the command that started it or the next one (a detached exec: 119 → 104 ms
 * here, against 100 ms without any reaper).
 */
import {spawn} from 'node:child_process'
import {setPriority} from 'node:os'

import type {ContainerdClient} from '../lib/containerd/client'

export function spawnExecReaper(client: ContainerdClient, target: {id: string; execId: string; pid: number}): void {
  const args = [
    // Node's own flags, but not a debugger's: --inspect-brk would hold the reaper for ever.
    ...process.execArgv.filter((flag) => !flag.startsWith('--inspect')),
    process.argv[1],
    'containers',
    'reap-exec',
    `--address=${client.address}`,
    `--namespace=${client.namespace}`,
    `--id=${target.id}`,
    `--exec-id=${target.execId}`,
    `--pid=${target.pid}`,
  ]
  try {
    const reaper = spawn(process.execPath, args, {detached: true, stdio: 'ignore'})
    reaper.on('error', () => undefined)
    reaper.unref()
    if (reaper.pid) setPriority(reaper.pid, 19)
  } catch {
    // see above: nothing is lost but the prompt removal
  }
}
