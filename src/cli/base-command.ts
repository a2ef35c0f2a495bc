/**
 * What every command shares: the global flags, a lazily created containerd client, Ctrl-C turned into an
 * abort of in-flight calls, and one funnel that turns every error into `ctr: <one line>` and an exit code.
 */
import {Command, Errors, Flags, Interfaces} from '@oclif/core'
import {stripVTControlCharacters} from 'node:util'

import {ContainerdClient, DEFAULT_ADDRESS, DEFAULT_NAMESPACE} from '../lib/containerd/client'
import {CtrError, EXIT, usageError} from '../lib/containerd/errors'
import {isSshAddress, nodeName, parseSshAddress, splitAddresses} from '../lib/ssh/address'
import {inFlight} from '../lib/in-flight'
import {takeSignals} from '../lib/signal-owners'
import {durationFlag, FlagValueError} from './flag-types'
import {errorText} from './error-text'
import {escapeText} from './output/escape'
import {onOutputFailure, outputFailure, reportWriteFailure, toJson, write} from './output/streams'
import {Ux} from './output/ux'
import {closest} from './suggest'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static baseFlags = {
    address: Flags.string({
      description: `containerd socket, or ssh://[USER@]HOST[:PORT][/SOCKET] (before the command also -a; several, comma-separated or -a repeated, for containers, images, namespaces, version, events) [default: ${DEFAULT_ADDRESS}]`,
      env: 'CONTAINERD_ADDRESS',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({description: 'print stack traces and gRPC details on errors', helpGroup: 'GLOBAL'}),
    namespace: Flags.string({
      char: 'n',
      description: `containerd namespace [default: ${DEFAULT_NAMESPACE}]`,
      env: 'CONTAINERD_NAMESPACE',
      helpGroup: 'GLOBAL',
    }),
    'call-timeout': durationFlag({
      description: 'deadline for each call to containerd (Go duration: 500ms, 10s, 1m30s); 0 for none [default: 10s]',
      env: 'CTR_CALL_TIMEOUT',
      helpGroup: 'GLOBAL',
    }),
    'connect-timeout': durationFlag({
      description: 'give up connecting to containerd after this long (as Go ctr) [default: the call deadline]',
      helpGroup: 'GLOBAL',
    }),
    timeout: durationFlag({
      description: `deadline for the whole command, as in Go ctr: streams and attached processes end at it (exit ${EXIT.timeout}) [default: none]`,
      helpGroup: 'GLOBAL',
    }),
  }

  /** The command asks several nodes at once when given several addresses (forEachNode); others take one. */
  static multiNode = false

  protected flags!: BaseFlags<T>
  /** The addresses given (--address, comma-separated; normalizeArgv joins a repeated leading -a). */
  protected addresses: string[] = [DEFAULT_ADDRESS]
  protected args!: BaseArgs<T>
  /** Aborted on SIGINT/SIGTERM; pass it to long operations. */
  protected readonly abortController = new AbortController()
  /** The signal that interrupted this run, if any (decides exit code 130 or 143). */
  protected interruptedBy?: NodeJS.Signals
  /** Aborted when ctr's terminal hangs up (SIGHUP) during an attached session: pass to attachStdio's hangUp. */
  protected readonly hangUp = new AbortController()
  private clientInstance?: ContainerdClient
  /** Gives SIGINT/SIGTERM/SIGHUP back; an attached process takes them on top while it forwards or holds them. */
  private releaseSignals?: () => void
  private uxInstance?: Ux
  private stopWatchingOutput?: () => void
  /** Set while an attached session runs (whileAttached): it handles a broken stdout itself. */
  private attachedSession = false

  public async init(): Promise<void> {
    await super.init()
    this.releaseSignals = takeSignals(['SIGINT', 'SIGTERM', 'SIGHUP'], (signal) => this.interrupt(signal))
    // stdout broke (print.ts has said so): stop the command; an attached session ends itself (attach.ts).
    this.stopWatchingOutput = onOutputFailure((failure) => {
      if (!this.attachedSession) this.abortController.abort(failure)
    })
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    const base = this.flags as BaseFlags<typeof BaseCommand>
    // Explicitly empty is a mistake (an unset variable in a script), not a request for the default.
    // oclif treats an empty variable as unset: look at the environment itself.
    if (base.address === undefined && process.env.CONTAINERD_ADDRESS === '') base.address = ''
    if (base.namespace === undefined && process.env.CONTAINERD_NAMESPACE === '') base.namespace = ''
    if (base.address === '') throw usageError('address is required: --address / -a or CONTAINERD_ADDRESS is empty')
    if (base.namespace === '') throw usageError('namespace is required: --namespace / -n or CONTAINERD_NAMESPACE is empty')
    this.addresses = splitAddresses(base.address ?? DEFAULT_ADDRESS)
    for (const address of this.addresses) if (isSshAddress(address)) parseSshAddress(address)
    if (this.addresses.length > 1 && !(this.ctor as typeof BaseCommand).multiNode) {
      throw usageError(
        `several addresses are for containers, images, namespaces, version, events and stats --no-stream; ${this.id?.replaceAll(':', ' ')} takes one`,
      )
    }
    this.callTimeoutMs = base['call-timeout']?.ms
    this.connectTimeoutMs = base['connect-timeout']?.ms
    const totalMs = base.timeout?.ms ?? 0
    if (totalMs > 0) {
      this.deadline = setTimeout(() => {
        this.timedOut = `--timeout ${base.timeout!.text} reached`
        this.abortController.abort(new CtrError('deadline-exceeded', this.timedOut, {exitCode: EXIT.timeout}))
      }, totalMs)
      this.deadline.unref()
    }
  }

  private callTimeoutMs?: number
  private connectTimeoutMs?: number
  /** The whole command's deadline (--timeout). */
  private deadline?: NodeJS.Timeout
  /** Set when --timeout fired: the line ctr ends with. */
  private timedOut?: string

  /** The containerd client, created on first use so commands that never call the daemon never load gRPC. */
  protected get client(): ContainerdClient {
    this.clientInstance ??= this.newClient(this.addresses[0])
    return this.clientInstance
  }

  private newClient(address: string): ContainerdClient {
    return new ContainerdClient({
      address,
      namespace: (this.flags as BaseFlags<typeof BaseCommand>).namespace,
      timeoutMs: this.callTimeoutMs,
      connectTimeoutMs: this.connectTimeoutMs,
      signal: this.abortController.signal,
    })
  }

  /** Several addresses were given (only commands with multiNode accept them). */
  protected get severalNodes(): boolean {
    return this.addresses.length > 1
  }

  /**
   * Asks every node at once. A node that fails is one line on stderr (`ctr: NODE: why`) and sets the exit code;
   * the others' answers come back, in the order the addresses were given. All failed: the first error is thrown.
   */
  protected async forEachNode<R>(ask: (client: ContainerdClient) => Promise<R>): Promise<Array<{node: string; result: R}>> {
    const clients = this.addresses.map((address) => this.newClient(address))
    this.nodeClients.push(...clients)
    // Each failure is said when it happens: a stream (events) of one node may fail while the others run on.
    const settled = await Promise.all(
      clients.map((client, index) =>
        ask(client).then(
          (result) => ({node: nodeName(this.addresses[index]), result}),
          (reason: unknown) => {
            if (this.signal.aborted) throw reason
            const error = toCtrError(reason)
            process.stderr.write(`ctr: ${escapeText(nodeName(this.addresses[index]))}: ${errorText(error)}\n`)
            process.exitCode = Math.max(Number(process.exitCode ?? 0), error.exitCode)
            return undefined
          },
        ),
      ),
    )
    const answers = settled.filter((answer): answer is {node: string; result: R} => answer !== undefined)
    if (answers.length === 0) throw new CtrError('unavailable', `no node answered (${clients.length} failed)`)
    return answers
  }

  private readonly nodeClients: ContainerdClient[] = []

  /** Where the command's output goes (tables, JSON lines, spinners, progress), made once, after parsing. */
  protected get ux(): Ux {
    // --json: oclif's global flag, or the own flag of a command that streams JSON lines (events, stats).
    this.uxInstance ??= new Ux(undefined, {json: this.jsonEnabled() || (this.flags as {json?: boolean} | undefined)?.json === true})
    return this.uxInstance
  }

  protected get signal(): AbortSignal {
    return this.abortController.signal
  }

  /**
   * Runs an attached start or exec: a broken stdout or a hang-up ends the session (attach.ts), not the
   * command. Which signals reach ctr meanwhile is the process handle's business (lib/tasks/process.ts).
   */
  protected async whileAttached<T>(body: () => Promise<T>): Promise<T> {
    this.attachedSession = true
    try {
      return await body()
    } finally {
      this.attachedSession = false
    }
  }

  /**
   * Default reaction to SIGINT/SIGTERM/SIGHUP: cancel in-flight calls; the command then unwinds through its
   * own clean-up. A second signal exits at once. While an attached process forwards ctr's signals, or holds
   * them across Tasks.Start, they do not come here (signal-owners.ts).
   */
  protected interrupt(signal: NodeJS.Signals): void {
    if (this.interruptedBy) exitNow(signal)
    this.interruptedBy = signal
    const reason = new CtrError('cancelled', signal === 'SIGHUP' ? 'hung up' : 'interrupted', {exitCode: exitCodeFor(signal)})
    // A hang-up ends an attached session as its terminal going away would (the process gets SIGHUP, then
    // clean-up); anything else cancels what is in flight.
    if (signal === 'SIGHUP' && this.attachedSession) this.hangUp.abort(reason)
    else this.abortController.abort(reason)
  }

  /** oclif prints `--json` results through here; ours handles bigint and never colours. */
  public logJson(json: unknown): void {
    write(toJson(json))
  }

  protected async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (error instanceof CtrError && error.kind === 'output-failed') return reportWriteFailure(error)
    if (outputFailure()) return reportWriteFailure(outputFailure()!) // the command stopped because stdout broke
    // What a roll-back could not remove is said even when the rest of the error is not.
    const left = error instanceof CtrError && error.left ? `; ${escapeText(error.left)}` : ''
    if (this.timedOut) {
      process.stderr.write(`ctr: ${this.timedOut}${left}\n`)
      process.exitCode = EXIT.timeout
      return
    }
    if (this.interruptedBy) {
      // Interrupted on purpose: no error text, the conventional 128+signal exit code.
      if (left) process.stderr.write(`ctr: interrupted${left}\n`)
      process.exitCode = exitCodeFor(this.interruptedBy)
      return
    }
    const ctrError = toCtrError(error, this.id, Object.keys({...(this.ctor as typeof BaseCommand).baseFlags, ...this.ctor.flags}))
    if (ctrError.kind !== 'cancelled' || !this.interruptedBy) {
      process.stderr.write(`ctr: ${errorText(ctrError)}\n`)
    }
    if (this.debugEnabled()) process.stderr.write(`${debugDetails(error)}\n`)
    process.exitCode = ctrError.exitCode
  }

  protected async finally(error: Error | undefined): Promise<unknown> {
    this.releaseSignals?.()
    clearTimeout(this.deadline)
    // A command that ended quietly on the abort (a stream) still says why it ended.
    if (this.timedOut && !error) {
      process.stderr.write(`ctr: ${this.timedOut}\n`)
      process.exitCode = EXIT.timeout
    }
    this.stopWatchingOutput?.()
    const failure = outputFailure()
    if (failure) process.exitCode = failure.exitCode
    this.clientInstance?.close()
    for (const client of this.nodeClients) client.close()
    return super.finally(error)
  }

  private debugEnabled(): boolean {
    return Boolean((this.flags as {debug?: boolean} | undefined)?.debug) || this.argv.includes('--debug')
  }
}

export function exitCodeFor(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? EXIT.terminated : signal === 'SIGHUP' ? EXIT.hungUp : EXIT.interrupted
}

/**
 * A second signal: exit at once, whatever is pending (FIFO directories are removed synchronously at exit,
 * the terminal mode restored there too), saying in one line what may remain.
 */
function exitNow(signal: NodeJS.Signals): never {
  const left = inFlight()
  if (left.length > 0) process.stderr.write(`ctr: exiting at once; may remain: ${escapeText(left.join(', '))}\n`)
  process.exit(exitCodeFor(signal))
}

/** oclif's parse errors and everything else, as one CtrError. */
export function toCtrError(error: unknown, commandId?: string, flagNames: readonly string[] = []): CtrError {
  if (error instanceof CtrError) return error
  if (error instanceof FlagValueError) return error.error
  if (error instanceof Errors.CLIError || (error as {oclif?: unknown})?.oclif) {
    const hint = commandId ? ` (see 'ctr ${commandId.replaceAll(':', ' ')} --help')` : ''
    return new CtrError('usage', `${parseErrorText(error as Errors.CLIError, flagNames)}${hint}`, {cause: error})
  }
  const message = error instanceof Error ? error.message : String(error)
  return new CtrError('internal', message.split('\n')[0], {cause: error})
}

/** The data oclif's parse errors carry (lib/parser/errors.js; the classes themselves are not exported). */
interface ParseErrorData {
  /** RequiredArgsError: the missing args' definitions; UnexpectedArgsError: the surplus words. */
  args?: unknown
  /** NonExistentFlagsError: the unknown flags as typed. */
  flags?: unknown
  /** Every CLIParseError: the parse's input and output (FailedFlagValidationError, ViolatedFlagConstraintError). */
  parse?: {output?: unknown}
}

const plural = (list: readonly unknown[], word: string) => `${word}${list.length === 1 ? '' : 's'}`

/**
 * One line naming the problem, built from the error's data where oclif gives some (its messages list the
 * missing args with their descriptions, on several lines); otherwise oclif's own lines joined: a flag value
 * refused ("Parsing --count", the reason, a help pointer ctr replaces with its own) or the reasons of a
 * failed flag validation (after a header line).
 */
function parseErrorText(error: Errors.CLIError, flagNames: readonly string[] = []): string {
  const data = error as Errors.CLIError & ParseErrorData
  if (Array.isArray(data.flags)) {
    const first = String(data.flags[0])
    const typed = first.replace(/=.*$/, '')
    const suggestion = typed.startsWith('--') ? closest(typed.slice(2), flagNames) : undefined
    return `unknown ${plural(data.flags, 'flag')} ${data.flags.join(', ')}${suggestion ? `; did you mean --${suggestion}?` : ''}`
  }
  if (Array.isArray(data.args) && data.args.length > 0 && data.args.every((arg) => typeof arg === 'object' && arg !== null && 'name' in arg)) {
    return `missing ${plural(data.args, 'argument')} ${data.args.map((arg: {name: string}) => arg.name.toUpperCase()).join(' ')}`
  }
  if (Array.isArray(data.args)) return `unexpected ${plural(data.args, 'argument')} ${data.args.map((a) => `"${a}"`).join(' ')}`
  let lines = stripVTControlCharacters(error.message)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  if (data.parse?.output !== undefined && lines.length > 1) lines = lines.slice(1) // a validation's header
  if (lines.length > 1 && lines.at(-1) === OCLIF_HELP_POINTER) lines = lines.slice(0, -1)
  // "Parsing --count \n Expected an integer but received: x" → "invalid --count: expected an integer but received: x"
  const parsing = /^Parsing (--\S+)$/.exec(lines[0] ?? '')
  if (parsing && lines.length > 1) return `invalid ${parsing[1]}: ${lowerFirst(lines.slice(1).join(' '))}`
  return lowerFirst(lines.join(' '))
}

/** oclif's sentences start with a capital; ctr's one-liners do not (as Go's errors). */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text
}

/** The line oclif appends to a refused flag value (lib/parser/parse.js). */
const OCLIF_HELP_POINTER = 'See more help with --help'

function debugDetails(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  while (current) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current))
    current = current instanceof Error ? current.cause : undefined
  }
  return parts.join('\ncaused by: ')
}
