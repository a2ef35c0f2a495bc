/**
 * Who made something that may outlive a SIGKILLed ctr (a start's lease and container, a pull's lease, a FIFO
 * directory): `<pid namespace inode>.<pid>.<start time>`, so a later ctr can tell whether its maker still runs.
 * A PID alone is reused; with the process's start time (/proc/<pid>/stat field 22) it is not. A token from
 * another PID namespace (a ctr in a container sharing the socket) cannot be judged here: it counts as alive, and
 * what it marks is left to its lease's expiry.
 */
import {readFileSync, readlinkSync} from 'node:fs'
import {lstat, readdir} from 'node:fs/promises'
import {join} from 'node:path'

export type OwnerState = 'alive' | 'dead' | 'unknown'

const TOKEN = /^(\d+)\.(\d+)\.(\d+)$/

/** Field 22 (starttime) of /proc/<pid>/stat, after the command name (which may hold spaces and parentheses). */
function startTime(pid: number | 'self'): string | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .at(22 - 3)
}

function pidNamespace(): string | undefined {
  try {
    return /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1]
  } catch {
    return undefined
  }
}

let own: string | undefined

/** This process's token ('' when /proc cannot say: then nothing is marked and nothing is judged). */
export function ownerToken(): string {
  if (own === undefined) {
    const ns = pidNamespace()
    const started = startTime('self')
    own = ns && started ? `${ns}.${process.pid}.${started}` : ''
  }
  return own
}

/** Whether the process a token names still runs: dead only when this machine's /proc says so for certain. */
export function ownerState(token: string | undefined): OwnerState {
  const match = TOKEN.exec(token ?? '')
  const mine = ownerToken()
  if (!match || !mine || match[1] !== mine.split('.')[0]) return 'unknown'
  const started = startTime(Number(match[2]))
  return started === match[3] ? 'alive' : 'dead'
}

/**
 * The directories in `parent` that ctr processes killed with SIGKILL (no exit hook ran) left: named for an
 * owner token (`name`'s first group) whose process is dead, real directories (lstat: a symlink is never
 * followed), of this user and private (0700): never one another user could have planted.
 */
export async function deadOwnersDirs(parent: string, name: RegExp): Promise<string[]> {
  const uid = process.geteuid?.() ?? -1
  const dirs: string[] = []
  for (const entry of await readdir(parent)) {
    const token = name.exec(entry)?.[1]
    if (!token || ownerState(token) !== 'dead') continue
    const path = join(parent, entry)
    const info = await lstat(path).catch(() => undefined)
    if (info?.isDirectory() && info.uid === uid && (info.mode & 0o777) === 0o700) dirs.push(path)
  }
  return dirs
}
