/**
 * What ctr needs to know of CRIU: the configuration-file lines a restore needs again, and the one line of
 * its logs (dump.log, restore.log) that says why it failed.
 */
import type {CheckpointFlags} from './store'

/** CRIU configuration-file lines for the options a restore needs again (the runc shim passes none of them). */
export function criuConfig(flags: CheckpointFlags): string {
  const lines = [flags.tcp && 'tcp-established', flags.unixSockets && 'ext-unix-sk', flags.shell && 'shell-job', flags.fileLocks && 'file-locks']
  return lines.filter(Boolean).join('\n')
}

/** Drops the log path and the gRPC suffix from the daemon's message, and anything after its first line. */
export function tidyDaemonMessage(message: string): string {
  return message
    .split('\n')[0]
    .replace(/: unknown$/, '')
    .replace(/\s*path=\s*\S*$/, '')
}

/** Generic lines CRIU prints after the real cause, or for probes it recovers from. */
const GENERIC_CRIU_ERROR = /exited, status=\d+|(Dumping|Restoring) FAILED|failed with -?\d+|^kerndat_\w+ failed|failed when initializing kerndat/i

/**
 * The cause of a CRIU failure from its log: CRIU logs a cause and then the steps that failed because of
 * it, so it is the first specific line of the last run of adjacent error lines. Undefined without errors.
 */
export function criuReason(log: string): string | undefined {
  const lines = log.split('\n')
  const groups: string[][] = []
  let previous = -2
  lines.forEach((line, index) => {
    const match = /\bError \([^)]*\):\s*(.*?)\s*$/.exec(line)
    if (!match) return
    if (index !== previous + 1) groups.push([])
    groups.at(-1)!.push(match[1])
    previous = index
  })
  for (let i = groups.length - 1; i >= 0; i--) {
    const specific = groups[i].find((message) => message && !GENERIC_CRIU_ERROR.test(message))
    if (specific) return specific
  }
  return groups.at(-1)?.at(-1) || undefined
}

/** CRIU names its own options in its advice; say which ctr flag that is. */
export function criuHint(reason: string): string {
  const flag = /--tcp-established/.test(reason)
    ? '--tcp'
    : /--ext-unix-sk/.test(reason)
      ? '--unix-sockets'
      : /--shell-job/.test(reason)
        ? '--shell'
        : /--file-locks/.test(reason)
          ? '--file-locks'
          : undefined
  return flag ? ` (ctr checkpoints create ${flag})` : ''
}
