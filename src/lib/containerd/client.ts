/**
 * The one connection to containerd every command goes through: a unix-socket channel, the namespace header
 * on every call, a deadline on every unary call, abort for everything, and errors converted at the boundary.
 *
 * Services are typed from ts-proto's generic definitions (src/gen), so the transport is ours to choose and
 * nothing parses .proto files at run time. The transport (./transport.ts) is a small gRPC client on our own
 * HTTP/2 client over node:net (./http2/), created on the first call; grpc-js was measured at ≈20 ms more per
 * start-up, node:http2 at ≈14 ms more (README "Performance").
 */
import {statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'

import {CtrError, fromGrpcError} from './errors'
import {Http2Transport} from './transport'

export const DEFAULT_ADDRESS = '/run/containerd/containerd.sock'
export const DEFAULT_NAMESPACE = 'default'
export const DEFAULT_TIMEOUT_MS = 10_000
/** Go's client accepts 16 MiB messages. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024

// -- the shape of ts-proto's generic service definitions -------------------------------------------------

export interface MessageType<T> {
  encode(message: T): {finish(): Uint8Array}
  decode(input: Uint8Array): T
  fromPartial(object: any): T
}

export interface MethodDefinition<Req, Res, ResponseStream extends boolean> {
  readonly name: string
  readonly requestType: MessageType<Req>
  readonly responseType: MessageType<Res>
  readonly requestStream: boolean
  readonly responseStream: ResponseStream
}

export interface ServiceDefinition {
  readonly name: string
  readonly fullName: string
  readonly methods: {readonly [key: string]: MethodDefinition<any, any, boolean>}
}

type Builtin = Date | Function | Uint8Array | string | number | boolean | bigint | undefined
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
  /** Deadline in ms for this call; `null` for none (long waits such as Tasks.Wait). Default: the client's. */
  timeoutMs?: number | null
  signal?: AbortSignal
}

export type ServiceClient<S extends ServiceDefinition> = {
  [K in keyof S['methods']]: S['methods'][K] extends MethodDefinition<infer Req, infer Res, infer Stream>
    ? Stream extends true
      ? (request: DeepPartial<Req>, options?: CallOptions) => AsyncIterable<Res>
      : (request: DeepPartial<Req>, options?: CallOptions) => Promise<Res>
    : never
}

// -- connection ------------------------------------------------------------------------------------------

export interface ConnectOptions {
  /** Socket path (`/run/containerd/containerd.sock`) or `unix://` URL. */
  address?: string
  namespace?: string
  /** Default deadline for unary calls in ms; 0 means none. */
  timeoutMs?: number
  /** Aborts every call made through this client (Ctrl-C). */
  signal?: AbortSignal
}

/** `unix:///abs`, `unix:/abs` or a path → an absolute socket path. */
export function socketPath(address: string): string {
  const path = address.replace(/^unix:(\/\/)?/, '')
  return isAbsolute(path) ? path : resolve(path)
}

export class ContainerdClient {
  readonly address: string
  readonly namespace: string
  readonly timeoutMs: number
  private readonly signal?: AbortSignal
  private transport?: Http2Transport
  private readonly metadata: Record<string, string>
  private readonly services = new Map<string, unknown>()

  constructor(options: ConnectOptions = {}) {
    this.address = socketPath(options.address || DEFAULT_ADDRESS)
    this.namespace = options.namespace || DEFAULT_NAMESPACE
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.signal = options.signal
    this.metadata = {'containerd-namespace': this.namespace}
  }

  /** A typed client for one service, e.g. `client.service(TasksDefinition).start({containerId})`. */
  service<S extends ServiceDefinition>(definition: S): ServiceClient<S> {
    let cached = this.services.get(definition.fullName) as ServiceClient<S> | undefined
    if (!cached) {
      const methods: Record<string, unknown> = {}
      for (const [key, method] of Object.entries(definition.methods)) {
        const path = `/${definition.fullName}/${method.name}`
        methods[key] = method.responseStream
          ? (request: unknown, options?: CallOptions) => this.serverStream(path, method, request, options)
          : (request: unknown, options?: CallOptions) => this.unary(path, method, request, options)
      }
      cached = methods as ServiceClient<S>
      this.services.set(definition.fullName, cached)
    }
    return cached
  }

  /** Releases the connection; pending calls fail with CANCELLED. */
  close(): void {
    this.transport?.close()
    this.transport = undefined
  }

  /** Lazily creates the transport; checks the socket file first so a wrong path fails at once and clearly. */
  private connect(): Http2Transport {
    if (this.transport) return this.transport
    checkSocket(this.address)
    // The transport connects on its first call, so commands that never call the daemon never do.
    this.transport = new Http2Transport(this.address, {maxMessageBytes: MAX_MESSAGE_BYTES})
    return this.transport
  }

  private async unary<Req, Res>(path: string, method: MethodDefinition<Req, Res, boolean>, request: unknown, options?: CallOptions): Promise<Res> {
    const timeoutMs = options?.timeoutMs === undefined ? this.timeoutMs : options.timeoutMs
    const ctx = {address: this.address, timeoutMs: timeoutMs ?? undefined}
    const signal = this.combinedSignal(options?.signal)
    if (signal?.aborted) throw new CtrError('cancelled', 'cancelled')
    const transport = this.connect()
    const bytes = method.requestType.encode(method.requestType.fromPartial(request)).finish()
    try {
      const response = await transport.unary(path, bytes, {metadata: this.metadata, timeoutMs: timeoutMs || undefined, signal})
      return method.responseType.decode(response)
    } catch (error) {
      throw fromGrpcError(error, ctx)
    }
  }

  private async *serverStream<Req, Res>(
    path: string,
    method: MethodDefinition<Req, Res, boolean>,
    request: unknown,
    options?: CallOptions,
  ): AsyncGenerator<Res> {
    const signal = this.combinedSignal(options?.signal)
    if (signal?.aborted) throw new CtrError('cancelled', 'cancelled')
    const transport = this.connect()
    const bytes = method.requestType.encode(method.requestType.fromPartial(request)).finish()
    const timeoutMs = options?.timeoutMs ?? undefined
    try {
      for await (const message of transport.serverStream(path, bytes, {metadata: this.metadata, timeoutMs, signal})) {
        yield method.responseType.decode(message)
      }
    } catch (error) {
      throw fromGrpcError(error, {address: this.address, timeoutMs})
    }
  }

  private combinedSignal(signal?: AbortSignal): AbortSignal | undefined {
    if (!signal) return this.signal
    if (!this.signal) return signal
    return AbortSignal.any([this.signal, signal])
  }
}

/** Fails fast, with the reason, when the socket path is missing or is not a socket. */
function checkSocket(path: string): void {
  let stats
  try {
    stats = statSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)
    throw new CtrError('unavailable', `cannot connect to containerd at ${path}: ${reason}`)
  }
  if (!stats.isSocket()) throw new CtrError('unavailable', `cannot connect to containerd at ${path}: not a socket`)
}
