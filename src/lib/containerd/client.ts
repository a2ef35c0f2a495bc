/**
 * The one connection to containerd every command goes through: a unix-socket channel, the namespace header
 * on every call, a deadline on every unary call, abort for everything, and errors converted at the boundary.
 *
 * Services are typed from ts-proto's generic definitions (src/gen), so the transport is ours to choose and
 * nothing parses .proto files at run time. grpc-js is loaded on the first call, not at import, so `--help`
 * and flag errors never pay for it.
 */
import {statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'
import type {Client as GrpcClient, Metadata as GrpcMetadata, ServiceError} from '@grpc/grpc-js'

import {CtrError, fromGrpcError} from './errors'

export const DEFAULT_ADDRESS = '/run/containerd/containerd.sock'
export const DEFAULT_NAMESPACE = 'default'
export const DEFAULT_TIMEOUT_MS = 10_000
/** Go's client accepts 16 MiB messages; grpc-js defaults to 4 MiB. */
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
  private channel?: GrpcClient
  private metadata?: GrpcMetadata
  private readonly services = new Map<string, unknown>()

  constructor(options: ConnectOptions = {}) {
    this.address = socketPath(options.address || DEFAULT_ADDRESS)
    this.namespace = options.namespace || DEFAULT_NAMESPACE
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.signal = options.signal
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

  /** Releases the channel; pending calls fail with CANCELLED. */
  close(): void {
    this.channel?.close()
    this.channel = undefined
  }

  /** Lazily opens the channel; checks the socket file first so a wrong path fails at once and clearly. */
  private connect(): {channel: GrpcClient; metadata: GrpcMetadata} {
    if (this.channel && this.metadata) return {channel: this.channel, metadata: this.metadata}
    checkSocket(this.address)
    // Required here rather than imported so the cost is paid only by commands that talk to the daemon.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js')
    this.channel = new grpc.Client(`unix://${this.address}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // A restarted daemon should be reachable again at once, not after grpc-js's reconnect back-off.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    })
    this.metadata = new grpc.Metadata()
    this.metadata.set('containerd-namespace', this.namespace)
    return {channel: this.channel, metadata: this.metadata}
  }

  private unary<Req, Res>(path: string, method: MethodDefinition<Req, Res, boolean>, request: unknown, options?: CallOptions): Promise<Res> {
    const timeoutMs = options?.timeoutMs === undefined ? this.timeoutMs : options.timeoutMs
    const ctx = {address: this.address, timeoutMs: timeoutMs ?? undefined}
    const signal = this.combinedSignal(options?.signal)
    return new Promise<Res>((resolvePromise, reject) => {
      if (signal?.aborted) return reject(new CtrError('cancelled', 'cancelled'))
      let connection
      try {
        connection = this.connect()
      } catch (error) {
        return reject(error)
      }
      const deadline = timeoutMs ? Date.now() + timeoutMs : Infinity
      const call = connection.channel.makeUnaryRequest<Req, Res>(
        path,
        (message) => Buffer.from(method.requestType.encode(message).finish()),
        (bytes) => method.responseType.decode(bytes),
        method.requestType.fromPartial(request),
        connection.metadata,
        {deadline},
        (error: ServiceError | null, response?: Res) => {
          signal?.removeEventListener('abort', onAbort)
          if (error) reject(fromGrpcError(error, ctx))
          else resolvePromise(response as Res)
        },
      )
      const onAbort = () => call.cancel()
      signal?.addEventListener('abort', onAbort, {once: true})
    })
  }

  private async *serverStream<Req, Res>(
    path: string,
    method: MethodDefinition<Req, Res, boolean>,
    request: unknown,
    options?: CallOptions,
  ): AsyncGenerator<Res> {
    const signal = this.combinedSignal(options?.signal)
    if (signal?.aborted) throw new CtrError('cancelled', 'cancelled')
    const {channel, metadata} = this.connect()
    const call = channel.makeServerStreamRequest<Req, Res>(
      path,
      (message) => Buffer.from(method.requestType.encode(message).finish()),
      (bytes) => method.responseType.decode(bytes),
      method.requestType.fromPartial(request),
      metadata,
      {},
    )
    const onAbort = () => call.cancel()
    signal?.addEventListener('abort', onAbort, {once: true})
    try {
      for await (const message of call) yield message as Res
    } catch (error) {
      throw fromGrpcError(error, {address: this.address})
    } finally {
      signal?.removeEventListener('abort', onAbort)
      call.cancel()
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
