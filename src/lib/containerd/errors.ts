/**
 * Every failure ctr reports becomes one CtrError: a kind a program can branch on, a one-line message a
 * person can read, and the exit code a script sees. gRPC errors are converted here and nowhere else.
 */

export type ErrorKind =
  | 'usage' // bad flags, arguments or input files
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition' // e.g. deleting a running task
  | 'invalid-argument' // the daemon rejected a value
  | 'unavailable' // cannot reach the daemon
  | 'deadline-exceeded'
  | 'cancelled' // the user interrupted
  | 'permission-denied'
  | 'unimplemented'
  | 'internal'
  | 'output-failed' // ctr's own stdout could not be written (write-failure.ts)
  | 'data-loss' // what ctr printed is incomplete (a log with lost output)

/**
 * Exit codes a script can rely on (README, "Exit codes and errors"). ctr's own failures use 125, as docker
 * does, so they are told apart from a container's own exit code with --attach.
 */
export const EXIT = {
  ok: 0,
  failure: 125,
  /** The process in the container could not be started (not executable). */
  cannotInvoke: 126,
  /** The process in the container was not found. */
  commandNotFound: 127,
  /** SIGHUP (terminal closed, `kill -HUP`): 128 + 1. */
  hungUp: 129,
  /** The whole command's deadline (--timeout) passed, as timeout(1) exits. */
  timeout: 124,
  interrupted: 130,
  /** stdout is a pipe whose reader went away: 128 + SIGPIPE, as a shell reports a writer killed by it. */
  brokenPipe: 141,
  terminated: 143,
} as const

/**
 * The object an error is about, when a caller needs it: containerd's wording read once, in fromGrpcError
 * (`container "x" in namespace "n": not found`, `snapshotter not loaded: x`, `ref x locked for 5s`, `task x
 * not found`), or set by the code that words the error.
 */
export interface ErrorSubject {
  type: 'container' | 'task' | 'snapshotter' | 'locked-ref'
  id: string
}

export class CtrError extends Error {
  readonly kind: ErrorKind
  readonly exitCode: number
  /** What the message names (see ErrorSubject): a caller that would name it again asks this, not the text. */
  readonly subject?: ErrorSubject
  /**
   * What a failed roll-back may have left in containerd (`container "x" (...; remove with: ...)`), also in
   * the message; kept apart so an interrupted or timed-out command, which prints no error text, still says it.
   */
  readonly left?: string
  /**
   * For an error about options the caller gave: the message with the options named as the caller knows them
   * (the CLI: `--filter`); `message` names them in the library's words (`filter`). See optionError.
   */
  readonly render?: (name: OptionNamer) => string

  constructor(
    kind: ErrorKind,
    message: string,
    options?: {cause?: unknown; exitCode?: number; left?: string; subject?: ErrorSubject; render?: (name: OptionNamer) => string},
  ) {
    super(message, options?.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'CtrError'
    this.kind = kind
    this.exitCode = options?.exitCode ?? (kind === 'cancelled' ? EXIT.interrupted : EXIT.failure)
    if (options?.left) this.left = options.left
    if (options?.subject) this.subject = options.subject
    if (options?.render) this.render = options.render
  }
}

/** Names an option of a library call (its key in the options object) for a message. */
export type OptionNamer = (option: string) => string

/** The library's own words for its options, where the key is not plain English. */
const OPTION_WORDS: Record<string, string> = {
  pid: 'PID',
  all: 'all processes',
  execId: 'exec ID',
  env: 'environment',
  uid: 'UID',
  gid: 'GID',
  cwd: 'working directory',
  allPlatforms: 'all platforms',
  baseName: 'base name',
  indexName: 'index name',
  maxConcurrentDownloads: 'download concurrency',
  callTimeout: 'call timeout',
  connectTimeout: 'connect timeout',
  plainHttp: 'plain HTTP',
  hostsDir: 'hosts directory',
  tlscacert: 'a TLS CA file',
  tlscert: 'TLS client certificate',
  tlskey: 'TLS client key',
  skipVerify: 'no TLS verification',
  noLog: 'no log file',
}

/** The library's wording of an option: `execId` → `exec ID`. */
export const optionWords: OptionNamer = (option) => OPTION_WORDS[option] ?? option

/**
 * An error about the options of a library call, worded through `name`, so the library speaks its domain
 * (`invalid filter "x"`) and a caller with other names for them (the CLI's flags) renders its own
 * (`invalid --filter "x"`) from the same structure, not by rewriting text.
 */
export function optionError(kind: ErrorKind, render: (name: OptionNamer) => string, options: {cause?: unknown} = {}): CtrError {
  return new CtrError(kind, render(optionWords), {...options, render})
}

/** Whether the error's message already names container `id` (so a caller does not name it again). */
export function namesContainer(error: CtrError, id: string): boolean {
  return error.subject?.type === 'container' && error.subject.id === id
}

export const usageError = (message: string): CtrError => new CtrError('usage', message)

/** The one wording for a missing container (containerd's own, tidied: kill, delete, stats, exec all say it). */
export function containerNotFound(ids: string | readonly string[], namespace: string, cause?: unknown): CtrError {
  const list = typeof ids === 'string' ? [ids] : ids
  const names = list.map((id) => `"${id}"`).join(', ')
  const subject = list.length === 1 ? {type: 'container' as const, id: list[0]} : undefined
  return new CtrError('not-found', `container${list.length > 1 ? 's' : ''} ${names} not found in namespace "${namespace}"`, {cause, subject})
}

/** gRPC status codes (grpc/status.proto): this module must not load grpc-js (--help and usage errors use it). */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const

interface GrpcLikeError {
  code: number
  details?: string
  message?: string
}

export function isGrpcError(error: unknown): error is GrpcLikeError {
  return typeof error === 'object' && error !== null && typeof (error as GrpcLikeError).code === 'number' && 'details' in error
}

export interface CallContext {
  /** Socket path, for connection errors. */
  address: string
  /** What was being done, e.g. `start container "web"`; prefixes daemon errors that do not name it. */
  operation?: string
  /** The call's deadline in ms, for deadline errors. */
  timeoutMs?: number
  /** The RPC, e.g. `Tasks.Create`, for deadline errors. */
  method?: string
  /** containerd had answered an earlier call on this connection: a deadline is then a slow call. */
  answered?: boolean
  /**
   * The client cancelled this call itself (an abort, close()). A CANCELLED status otherwise is the server
   * resetting the call (a daemon shutting down): the connection going away, not an interrupt.
   */
  cancelledByClient?: boolean
}

/** Converts anything thrown by a gRPC call into a CtrError with containerd's own text kept. */
export function fromGrpcError(error: unknown, ctx: CallContext): CtrError {
  if (error instanceof CtrError) return error
  if (!isGrpcError(error)) {
    const message = error instanceof Error ? error.message : String(error)
    return new CtrError('internal', message, {cause: error})
  }

  const details = (error.details ?? error.message ?? '').trim()
  const prefix = ctx.operation ? `${ctx.operation}: ` : ''
  const options = {cause: error, subject: subjectOf(details)}
  switch (error.code === GRPC.UNKNOWN ? (errdefsCode(details) ?? error.code) : error.code) {
    case GRPC.UNAVAILABLE:
      return new CtrError('unavailable', connectionMessage(ctx.address, details), options)
    case GRPC.DEADLINE_EXCEEDED: {
      if (ctx.answered) {
        const within = ctx.timeoutMs ? ` within ${formatMs(ctx.timeoutMs)}` : ''
        const render = (o: OptionNamer) =>
          `${prefix}${ctx.method ?? 'a call'} did not finish${within}: containerd at ${ctx.address} answers, but this call was slow (raise ${o('callTimeout')}, or 0 for none)`
        return new CtrError('deadline-exceeded', render(optionWords), {...options, render})
      }
      return noAnswer(ctx.address, ctx.timeoutMs, {prefix, cause: error})
    }
    case GRPC.CANCELLED:
      if (!ctx.cancelledByClient) return new CtrError('unavailable', connectionMessage(ctx.address, 'closed'), options)
      return new CtrError('cancelled', `${prefix}cancelled`, options)
    case GRPC.NOT_FOUND:
      return new CtrError('not-found', prefix + tidyNotFound(details), options)
    case GRPC.ALREADY_EXISTS:
      return new CtrError('already-exists', prefix + details, options)
    case GRPC.INVALID_ARGUMENT:
    case GRPC.OUT_OF_RANGE:
      return new CtrError('invalid-argument', prefix + (error.code === GRPC.UNKNOWN ? tidyRuntimeError(details) : details), options)
    case GRPC.FAILED_PRECONDITION:
    case GRPC.ABORTED:
      return new CtrError('failed-precondition', prefix + details, options)
    case GRPC.PERMISSION_DENIED:
      return new CtrError('permission-denied', prefix + details, options)
    case GRPC.UNIMPLEMENTED:
      return new CtrError('unimplemented', `${prefix}not supported by this containerd: ${details}`, options)
    default:
      return new CtrError('internal', prefix + tidyRuntimeError(details), options)
  }
}

/**
 * containerd answers some errors with UNKNOWN and its errdefs class as the message's last word (the events
 * stream's "failed parsing subscription filters: ...: invalid argument"); Go's client reads it back the same
 * way (errgrpc.ToNative). Only the class that changes what ctr does is read: a wrong argument is never retried.
 */
function errdefsCode(details: string): number | undefined {
  return /: invalid argument$/.test(details) ? GRPC.INVALID_ARGUMENT : undefined
}

/** The object containerd's wording names (ErrorSubject). */
function subjectOf(details: string): ErrorSubject | undefined {
  const container = /^container "([^"]+)"/.exec(details)
  if (container) return {type: 'container', id: container[1]}
  const task = /\btask (\S+) not found/.exec(details)
  if (task) return {type: 'task', id: task[1]}
  const snapshotter = /snapshotter not loaded: ([^:\s]+)/.exec(details)
  if (snapshotter) return {type: 'snapshotter', id: snapshotter[1]}
  const locked = /\bref (\S+) locked for\b/.exec(details)
  if (locked) return {type: 'locked-ref', id: locked[1]}
  return undefined
}

/**
 * A call containerd never answered: a daemon that accepts connections but answers nothing (paused, hung). Also
 * for a call first worded as slow when a probe then found the daemon answering nothing at all.
 */
export function noAnswer(address: string, timeoutMs: number | undefined, options: {prefix?: string; cause?: unknown} = {}): CtrError {
  const after = timeoutMs ? ` after ${formatMs(timeoutMs)}` : ''
  return optionError(
    'deadline-exceeded',
    (o) => `${options.prefix ?? ''}containerd at ${address} did not answer${after} (raise ${o('callTimeout')}, or 0 for none)`,
    {
      cause: options.cause,
    },
  )
}

/** `container "x" in namespace "n": not found` → `container "x" not found in namespace "n"`. */
function tidyNotFound(details: string): string {
  // containerd says "process already finished: not found" for a signal to an exited process.
  if (/^process already finished/.test(details)) return 'process already finished'

  const m = /^(.*) in namespace "([^"]*)": not found$/.exec(details)
  if (m) return `${m[1]} not found in namespace "${m[2]}"`
  return details.replace(/: not found$/, ' not found')
}

/**
 * runc and the shim wrap their errors in several layers ("failed to create shim task: OCI runtime create
 * failed: runc create failed: unable to start container process: exec: "x": executable file not found in
 * $PATH: unknown"). Keep the text (it names the cause) but drop the trailing gRPC ": unknown".
 */
function tidyRuntimeError(details: string): string {
  return details.replace(/: unknown$/, '')
}

/** grpc-js reports every connection failure as UNAVAILABLE; the errno or HTTP/2 text in it names the cause. */
function connectionMessage(address: string, details: string): string {
  const reason = /ENOENT/.test(details)
    ? 'no such file'
    : /EACCES|EPERM/.test(details)
      ? 'permission denied'
      : /ECONNREFUSED/.test(details)
        ? 'connection refused (is containerd running?)'
        : /Protocol error/i.test(details)
          ? 'not a gRPC server (it does not speak HTTP/2)'
          : /Connection dropped|ECONNRESET|EPIPE|closed|Failed to connect/i.test(details)
            ? 'connection lost'
            : details.replace(/\. Resolution note:.*$/, '') || 'unavailable'
  return `cannot connect to containerd at ${address}: ${reason}`
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}
