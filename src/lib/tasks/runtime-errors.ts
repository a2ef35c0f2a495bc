/**
 * runc's failures to start a process (a container's init at Tasks.Create or Start, an exec at Tasks.Start),
 * in one line and with the shell's exit codes, for start and exec alike. runc's words, wrapped by the shim in
 * "OCI runtime create/exec failed: ... unable to start container process: " (quotes sometimes escaped):
 *   exec: "nosuch": executable file not found in $PATH                          → 127
 *   exec: "/bin/nosuch": stat /bin/nosuch: no such file or directory             → 127
 *   exec: "/etc/passwd": permission denied                                       → 126
 *   chdir to cwd ("/nope") set in config.json failed: no such file or directory  → the working directory, 125
 * The cwd is checked first: its reasons ("no such file or directory", "permission denied") are also a
 * command's.
 */
import {CtrError, EXIT} from '../containerd/errors'

export type RuntimeFailure =
  {kind: 'command-not-found'; command?: string} | {kind: 'not-executable'; command?: string} | {kind: 'cwd'; cwd: string; reason: string}

/** What runc's message says went wrong, if it is one of the failures above. */
export function runtimeFailure(message: string): RuntimeFailure | undefined {
  const chdir = /chdir to cwd \(\\?"(.*?)\\?"\) set in config\.json failed: (.*?)(?::\s*unknown)?$/.exec(message)
  if (chdir) return {kind: 'cwd', cwd: chdir[1], reason: chdir[2]}
  const exec = /exec: \\?"(.*?)\\?": (.*?)(?::\s*unknown)?$/.exec(message)
  if (exec && /executable file not found|no such file or directory/.test(exec[2])) return {kind: 'command-not-found', command: exec[1] || undefined}
  if (exec && /permission denied/.test(exec[2])) return {kind: 'not-executable', command: exec[1] || undefined}
  return undefined
}

export interface ProcessTarget {
  /** The container. */
  id: string
  /** The command as given (args[0]), for when runc does not name it. */
  command: string
  /** An exec process; else the container's init process. */
  exec?: boolean
}

/**
 * A runtime failure to start the process as one CtrError with its exit code; undefined when the error is
 * not one of runc's failures above (the caller words those).
 */
export function processStartError(error: unknown, target: ProcessTarget): CtrError | undefined {
  if (!(error instanceof CtrError)) return undefined
  const failure = runtimeFailure(error.message)
  if (!failure) return undefined
  const {id} = target
  const about = {type: 'container', id} as const
  if (failure.kind === 'cwd') {
    const subject = target.exec ? `cannot exec "${target.command}" in container "${id}"` : `cannot start container "${id}"`
    return new CtrError('invalid-argument', `${subject}: working directory "${failure.cwd}" ${cwdReason(failure.reason)}`, {cause: error, subject: about})
  }
  const command = failure.command || target.command
  const subject = target.exec ? `cannot exec "${command}" in container "${id}"` : `cannot start container "${id}": "${command}"`
  if (failure.kind === 'command-not-found') {
    return new CtrError('not-found', `${subject}: executable file not found`, {cause: error, exitCode: EXIT.commandNotFound, subject: about})
  }
  return new CtrError('permission-denied', `${subject}: permission denied`, {cause: error, exitCode: EXIT.cannotInvoke, subject: about})
}

function cwdReason(reason: string): string {
  if (/no such file or directory/.test(reason)) return 'does not exist in the container'
  if (/not a directory/.test(reason)) return 'is not a directory'
  return `cannot be entered: ${reason}`
}
