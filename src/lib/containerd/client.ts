/**
 * The one connection to containerd every command goes through: a @grpc/grpc-js channel on the unix socket,
 * the namespace header on every call (an interceptor), a deadline on every unary call, abort for
 * everything, and errors converted at the boundary (./errors.ts).
 *
 * Services are typed from ts-proto's generic definitions (src/gen), so nothing parses .proto files at run
 * time; the four call shapes of gRPC map to promises and async iterables:
 *   unary              (request, options?)  => Promise<Response>
 *   server streaming   (request, options?)  => AsyncIterable<Response>
 *   client streaming   (requests, options?) => Promise<Response>
 *   bidirectional      (requests, options?) => AsyncIterable<Response>
 * where `requests` is an (async) iterable the client drains with back-pressure. A bidirectional call reads
 * responses while it sends, so a request generator may wait for the previous response (Content.Write).
 *
 * grpc-js is loaded on the first call, not when this module loads: `--help`, usage errors and commands
 * that never reach the daemon never pay for it (≈15 ms, half of it node:http2; docs/performance.md).
 */
import type * as GrpcJs from '@grpc/grpc-js'
import {statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'

import {CtrError, formatMs, fromGrpcError, optionError} from './errors'
import {setMaxListeners} from 'node:events'
import {isSshAddress, parseSshAddress, type SshAddress} from '../ssh/address'
import {type SshTunnel, tunnelFor} from '../ssh/tunnel'

export const DEFAULT_ADDRESS = '/run/containerd/containerd.sock'
export const DEFAULT_NAMESPACE = 'default'
export const DEFAULT_TIMEOUT_MS = 10_000
/** Go's client accepts 16 MiB messages; grpc-js defaults to 4 MiB. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024
/** The HTTP/2 receive window, per stream and for the connection. */
const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024
const NAMESPACE_HEADER = 'containerd-namespace'

// -- the shape of ts-proto's generic service definitions -------------------------------------------------

export interface MessageType<T> {
  encode(message: T): {finish(): Uint8Array}
  decode(input: Uint8Array): T
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ts-proto's DeepPartial<T>, which differs per message: a parameter every message type accepts
  fromPartial(object: any): T
}

export interface MethodDefinition<Req, Res, RequestStream extends boolean, ResponseStream extends boolean> {
  readonly name: string
  readonly requestType: MessageType<Req>
  readonly responseType: MessageType<Res>
  readonly requestStream: RequestStream
  readonly responseStream: ResponseStream
}

export interface ServiceDefinition {
  readonly name: string
  readonly fullName: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any message types: MethodDefinition is invariant in them (encode takes, decode returns)
  readonly methods: {readonly [key: string]: MethodDefinition<any, any, boolean, boolean>}
}

type Builtin = Date | ((...args: never[]) => unknown) | Uint8Array | string | number | boolean | bigint | undefined
export type DeepPartial<T> = T extends Builtin
  ? T
  : T extends Array<infer U>
    ? Array<DeepPartial<U>>
    : T extends {$case: string}
      ? {[K in keyof Omit<T, '$case'>]?: DeepPartial<T[K]>} & {$case: T['$case']}
      : T extends object
        ? {[K in keyof T]?: DeepPartial<T[K]>}
        : Partial<T>

export interface CallOptions {
  /**
   * Deadline in ms for this call; `null` for none (long waits such as Tasks.Wait). Default: the client's
   * for unary calls, none for streams (they end by abort).
   */
  timeoutMs?: number | null
  signal?: AbortSignal
  /** More request metadata, e.g. `{'containerd-lease': id}`. */
  metadata?: Record<string, string>
}

export type Requests<T> = AsyncIterable<T> | Iterable<T>

export type ServiceClient<S extends ServiceDefinition> = {
  [K in keyof S['methods']]: S['methods'][K] extends MethodDefinition<infer Req, infer Res, infer ReqStream, infer ResStream>
    ? ReqStream extends true
      ? ResStream extends true
        ? (requests: Requests<DeepPartial<Req>>, options?: CallOptions) => AsyncIterable<Res>
        : (requests: Requests<DeepPartial<Req>>, options?: CallOptions) => Promise<Res>
      : ResStream extends true
        ? (request: DeepPartial<Req>, options?: CallOptions) => AsyncIterable<Res>
        : (request: DeepPartial<Req>, options?: CallOptions) => Promise<Res>
    : never
}

// -- connection ------------------------------------------------------------------------------------------

export interface ConnectOptions {
  /**
   * Socket path (`/run/containerd/containerd.sock`), `unix://` URL, or `ssh://[USER@]HOST[:PORT][/SOCKET]` for a
   * containerd on another host, reached through the system's ssh (../ssh/tunnel.ts).
   */
  address?: string
  namespace?: string
  /** Default deadline for unary calls in ms; 0 means none. */
  timeoutMs?: number
  /** Give up connecting after this long (Go ctr's --connect-timeout); default: each call's own deadline. */
  connectTimeoutMs?: number
  /** Aborts every call made through this client (Ctrl-C). */
  signal?: AbortSignal
}

/** `unix:///abs`, `unix:/abs` or a path → an absolute socket path. */
/**
 * A request message already encoded (a hot path's own encoding: Content.Write's data), sent as it is. Any
 * stream or call takes one in place of a request object.
 */
export class Encoded {
  constructor(readonly bytes: Buffer) {}
}

export function socketPath(address: string): string {
  const path = address.replace(/^unix:(\/\/)?/, '')
  return isAbsolute(path) ? path : resolve(path)
}

/** Loaded on the first call (see the top of this file). */
let grpcModule: typeof GrpcJs | undefined
// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpc = (): typeof GrpcJs => (grpcModule ??= require('@grpc/grpc-js') as typeof GrpcJs)

/** What every call shape shares once grpc-js has a call object. */
type AnyMethod = MethodDefinition<unknown, unknown, boolean, boolean>
type CancellableCall = {cancel(): void}

export class ContainerdClient {
  /** The socket path, or the ssh:// address as given (what messages name). */
  readonly address: string
  /** Set for an ssh:// address: the tunnel's local socket is what the channel dials. */
  private readonly ssh?: SshAddress
  private tunnel?: SshTunnel
  readonly namespace: string
  readonly timeoutMs: number
  private readonly signal?: AbortSignal
  private readonly connectTimeoutMs?: number
  private ready?: Promise<void>
  private channel?: GrpcJs.Client
  private readonly services = new Map<string, unknown>()
  /** Calls under way, cancelled by close(): grpc-js lets calls on a closed channel run on. */
  private readonly calls = new Set<CancellableCall>()

  constructor(options: ConnectOptions = {}) {
    const address = options.address || DEFAULT_ADDRESS
    if (isSshAddress(address)) this.ssh = parseSshAddress(address)
    this.address = this.ssh ? address : socketPath(address)
    this.namespace = options.namespace || DEFAULT_NAMESPACE
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.signal = options.signal
    // Every call under way listens on this one signal: many at a time (bench -C 12, concurrent execs) is the
    // design, not a leak; without this Node prints MaxListenersExceededWarning past 10.
    if (this.signal) setMaxListeners(0, this.signal)
    this.connectTimeoutMs = options.connectTimeoutMs || undefined
  }

  /** containerd is on another host (an ssh:// address): files ctr makes here are not where it looks. */
  get remote(): boolean {
    return Boolean(this.ssh)
  }

  /**
   * The ssh tunnel first, for an ssh:// address (bounded by the connect timeout, else the call deadline, else
   * 10 s: a dead host never hangs a script). Then, with a connect timeout, waits (once) until the channel is
   * up, or fails naming the timeout.
   */
  private async connected(): Promise<void> {
    if (this.ssh && (!this.tunnel || this.tunnel.failure)) {
      const tunnel = await tunnelFor(this.ssh, {
        connectTimeoutMs: this.connectTimeoutMs || this.timeoutMs || DEFAULT_TIMEOUT_MS,
        signal: this.signal,
      })
      if (tunnel !== this.tunnel) {
        this.channel?.close()
        this.channel = undefined
        this.ready = undefined
      }
      this.tunnel = tunnel
    }
    if (!this.connectTimeoutMs) return
    const ms = this.connectTimeoutMs
    const tunnel = this.tunnel
    this.ready ??= new Promise<void>((resolveReady, reject) => {
      // Through ssh, grpc-js would retry a failing forwarded connection until the deadline: ssh's word ends it.
      const stopListening = tunnel?.onTrouble(() => {
        stopListening?.()
        const said = tunnel.failure ?? tunnel.lastLine(true)
        if (said) reject(new CtrError('unavailable', `cannot connect to containerd at ${this.address}: ${tunnel.explain(said)}`))
      })
      this.connect().waitForReady(Date.now() + ms, (error) => {
        stopListening?.()
        if (error)
          reject(
            optionError('unavailable', (o) => `cannot connect to containerd at ${this.address}: no connection within ${formatMs(ms)} (${o('connectTimeout')})`),
          )
        else resolveReady()
      })
    })
    await this.ready
  }

  /** A typed client for one service, e.g. `client.service(TasksDefinition).start({containerId})`. */
  service<S extends ServiceDefinition>(definition: S): ServiceClient<S> {
    let cached = this.services.get(definition.fullName) as ServiceClient<S> | undefined
    if (!cached) {
      const methods: Record<string, unknown> = {}
      for (const [key, method] of Object.entries(definition.methods) as [string, AnyMethod][]) {
        const path = `/${definition.fullName}/${method.name}`
        methods[key] = method.requestStream
          ? method.responseStream
            ? (requests: Requests<unknown>, options?: CallOptions) => this.bidiStream(path, method, requests, options)
            : (requests: Requests<unknown>, options?: CallOptions) => this.clientStream(path, method, requests, options)
          : method.responseStream
            ? (request: unknown, options?: CallOptions) => this.serverStream(path, method, request, options)
            : (request: unknown, options?: CallOptions) => this.unary(path, method, request, options)
      }
      cached = methods as ServiceClient<S>
      this.services.set(definition.fullName, cached)
    }
    return cached
  }

  /** Releases the connection; calls under way fail with CANCELLED. */
  close(): void {
    for (const call of this.calls) call.cancel()
    this.calls.clear()
    this.channel?.close()
    this.channel = undefined
  }

  /** Creates the channel on first use; checks the socket file first so a wrong path fails at once and clearly. */
  private connect(): GrpcJs.Client {
    if (this.channel) return this.channel
    const socket = this.tunnel?.socket ?? this.address
    checkSocket(socket, this.address)
    const {Client, credentials, InterceptingCall} = grpc()
    const namespace = this.namespace
    // The namespace header on every call, as Go's client sets it from the context.
    const withNamespace: GrpcJs.Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          if (!metadata.get(NAMESPACE_HEADER).length) metadata.set(NAMESPACE_HEADER, namespace)
          next(metadata, listener)
        },
      })
    this.channel = new Client(`unix://${socket}`, credentials.createInsecure(), {
      interceptors: [withNamespace],
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // containerd is one local daemon: no retries, no service config lookups, no keepalive pings.
      'grpc.enable_retries': 0,
      'grpc.service_config_disable_resolution': 1,
      'grpc.default_authority': 'localhost',
      'grpc.primary_user_agent': 'ctr',
      // A local socket: HTTP/2's default 64 KiB window would make a large answer (Containers.List of
      // thousands, each with its spec, is megabytes) wait for a WINDOW_UPDATE every 64 KiB.
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    })
    return this.channel
  }

  /** Set once containerd has answered any call on this client (errors.ts words a later deadline as slowness). */
  private answered = false

  private async unary(path: string, method: AnyMethod, request: unknown, options?: CallOptions): Promise<unknown> {
    await this.connected()
    const timeoutMs = options?.timeoutMs === undefined ? this.timeoutMs : options.timeoutMs
    const call = this.prepare(method, options, timeoutMs || undefined)
    return new Promise((resolvePromise, reject) => {
      const handle = call.channel.makeUnaryRequest(path, call.serialize, call.deserialize, request, call.metadata, call.options, (error, response) => {
        call.done()
        // Any status from the server but a deadline or a lost connection means it answered: a later deadline
        // is then a slow call, not a mute daemon.
        if (!error || (error.code !== 4 && error.code !== 14 && error.code !== 1)) this.answered = true
        if (error)
          reject(
            this.grpcError(error, {
              address: this.address,
              timeoutMs: timeoutMs ?? undefined,
              method: methodName(path),
              answered: this.answered,
              cancelledByClient: call.cancelled(),
            }),
          )
        else resolvePromise(response)
      })
      call.track(handle)
    })
  }

  private async *serverStream(path: string, method: AnyMethod, request: unknown, options?: CallOptions): AsyncGenerator<unknown> {
    await this.connected()
    const timeoutMs = options?.timeoutMs ?? undefined
    const call = this.prepare(method, options, timeoutMs)
    const stream = call.channel.makeServerStreamRequest(path, call.serialize, call.deserialize, request, call.metadata, call.options)
    call.track(stream)
    yield* this.responses(stream, call, timeoutMs)
  }

  private async clientStream(path: string, method: AnyMethod, requests: Requests<unknown>, options?: CallOptions): Promise<unknown> {
    await this.connected()
    const timeoutMs = options?.timeoutMs ?? undefined
    const call = this.prepare(method, options, timeoutMs)
    let stream!: GrpcJs.ClientWritableStream<unknown>
    const response = new Promise((resolvePromise, reject) => {
      stream = call.channel.makeClientStreamRequest(path, call.serialize, call.deserialize, call.metadata, call.options, (error, value) => {
        call.done()
        if (error) reject(this.grpcError(error, {address: this.address, timeoutMs, cancelledByClient: call.cancelled()}))
        else resolvePromise(value)
      })
    })
    call.track(stream)
    const sending = sendBeside(stream, requests)
    try {
      return await response
    } catch (error) {
      throw sending.error() ?? error
    }
  }

  private async *bidiStream(path: string, method: AnyMethod, requests: Requests<unknown>, options?: CallOptions): AsyncGenerator<unknown> {
    await this.connected()
    const timeoutMs = options?.timeoutMs ?? undefined
    const call = this.prepare(method, options, timeoutMs)
    const stream = call.channel.makeBidiStreamRequest(path, call.serialize, call.deserialize, call.metadata, call.options)
    call.track(stream)
    // Sending runs beside reading: a request generator may wait for a response before it yields the next.
    const sending = sendBeside(stream, requests)
    try {
      yield* this.responses(stream, call, timeoutMs)
    } catch (error) {
      throw sending.error() ?? error
    }
    const sendError = sending.error()
    if (sendError) throw sendError
  }

  /** The messages of a server or bidirectional stream; leaving the loop early cancels the call. */
  private async *responses(stream: GrpcJs.ClientReadableStream<unknown>, call: PreparedCall, timeoutMs?: number): AsyncGenerator<unknown> {
    let ended = false
    try {
      for await (const message of stream) yield message
      ended = true
    } catch (error) {
      ended = true
      throw this.grpcError(error, {address: this.address, timeoutMs, cancelledByClient: call.cancelled()})
    } finally {
      if (!ended) stream.cancel()
      call.done()
    }
  }

  /**
   * fromGrpcError, plus ssh's own word when the connection failed through a tunnel: its last line on stderr
   * says why (`connect failed: No such file or directory` for a missing remote socket, or why ssh died).
   */
  private grpcError(error: unknown, ctx: Parameters<typeof fromGrpcError>[1]): CtrError {
    const converted = fromGrpcError(error, ctx)
    if (!this.tunnel || converted.kind !== 'unavailable') return converted
    const said = this.tunnel.failure ?? this.tunnel.lastLine(true)
    if (!said) return converted
    return new CtrError('unavailable', `cannot connect to containerd at ${this.address}: ${this.tunnel.explain(said)}`, {cause: error})
  }

  /** What each call needs: the channel, codecs, metadata, deadline, and abort wired to cancel. */
  private prepare(method: AnyMethod, options: CallOptions | undefined, timeoutMs: number | undefined): PreparedCall {
    const signal = combinedSignal(this.signal, options?.signal)
    if (signal?.aborted) throw new CtrError('cancelled', 'cancelled')
    const channel = this.connect()
    const metadata = new (grpc().Metadata)()
    for (const [key, value] of Object.entries(options?.metadata ?? {})) metadata.set(key, value)
    let handle: CancellableCall | undefined
    let cancelled = false
    // Every cancel of ours goes through here, so a CANCELLED status can be told apart from the server's.
    const cancel: CancellableCall = {
      cancel() {
        cancelled = true
        handle?.cancel()
      },
    }
    const onAbort = () => cancel.cancel()
    const calls = this.calls
    return {
      channel,
      metadata,
      options: timeoutMs ? {deadline: Date.now() + timeoutMs} : {},
      serialize: (value: unknown) => {
        if (value instanceof Encoded) return value.bytes
        const bytes = method.requestType.encode(method.requestType.fromPartial(value)).finish()
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      },
      deserialize: (bytes: Buffer) => method.responseType.decode(bytes),
      track(call) {
        handle = call
        calls.add(cancel)
        signal?.addEventListener('abort', onAbort, {once: true})
      },
      done() {
        calls.delete(cancel)
        signal?.removeEventListener('abort', onAbort)
      },
      cancelled: () => cancelled,
    }
  }
}

interface PreparedCall {
  channel: GrpcJs.Client
  metadata: GrpcJs.Metadata
  options: GrpcJs.CallOptions
  serialize: (value: unknown) => Buffer
  deserialize: (bytes: Buffer) => unknown
  track(call: CancellableCall): void
  done(): void
  /** Whether ctr cancelled the call (abort, close()): see CallContext.cancelledByClient. */
  cancelled(): boolean
}

/** Sends the requests while the call runs; a failing request iterable cancels the call, and its error is the one to report. */
function sendBeside(stream: Parameters<typeof sendAll>[0], requests: Requests<unknown>): {error(): unknown} {
  let failure: unknown
  sendAll(stream, requests).catch((error) => {
    failure = error
    stream.cancel()
  })
  return {error: () => failure}
}

/** Writes every request with back-pressure, then half-closes. Stops quietly if the call has ended. */
async function sendAll(stream: GrpcJs.ClientWritableStream<unknown>, requests: Requests<unknown>): Promise<void> {
  for await (const request of requests) {
    if (stream.destroyed || stream.writableEnded) return
    if (!stream.write(request)) {
      await new Promise<void>((resolveDrain) => {
        const done = () => {
          stream.off('drain', done)
          stream.off('close', done)
          resolveDrain()
        }
        stream.on('drain', done).on('close', done)
      })
    }
  }
  if (!stream.destroyed && !stream.writableEnded) stream.end()
}

function combinedSignal(a?: AbortSignal, b?: AbortSignal): AbortSignal | undefined {
  if (!b) return a
  if (!a) return b
  return AbortSignal.any([a, b])
}

/** Fails fast, with the reason, when the socket path is missing or is not a socket. */
function checkSocket(path: string, address: string = path): void {
  let stats
  try {
    stats = statSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)
    throw new CtrError('unavailable', `cannot connect to containerd at ${address}: ${reason}`)
  }
  if (!stats.isSocket()) throw new CtrError('unavailable', `cannot connect to containerd at ${address}: not a socket`)
}

/** `/containerd.services.tasks.v1.Tasks/Create` → `Tasks.Create`. */
function methodName(path: string): string {
  const [service = '', method = ''] = path.split('/').slice(1)
  return `${service.split('.').at(-1)}.${method}`
}
