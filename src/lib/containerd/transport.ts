/**
 * A small gRPC client transport, for the two call shapes containerd's API uses: unary and server streaming.
 * It replaces @grpc/grpc-js at run time because loading grpc-js costs more than the call (≈14 ms of a ctr
 * start-up; see README "Performance"), and ctr needs none of its channel machinery (name resolution, load
 * balancing, retries, TLS): one unix socket, one HTTP/2 connection shared by every call. The HTTP/2 client
 * is our own (./http2/), over node:net, which Node's start-up snapshot already holds: node:http2 cost ≈10 ms
 * to load and ≈5 ms to connect, on every ctr start-up.
 *
 * The wire protocol (grpc/doc/PROTOCOL-HTTP2.md): a POST to /package.Service/Method with
 * `content-type: application/grpc` and `te: trailers`; each message is a 5-byte prefix (compressed flag,
 * big-endian length) and its bytes; the status arrives as `grpc-status`/`grpc-message` trailers, or in the
 * response headers alone ("Trailers-Only", how Go servers answer errors).
 *
 * Failures are GrpcStatusError ({code, details}), what grpc-js throws, so errors.ts converts both alike:
 * connection failures are UNAVAILABLE with the errno text (ENOENT, ECONNREFUSED, EACCES), a deadline is
 * DEADLINE_EXCEEDED (sent to the server as `grpc-timeout` and enforced by a local timer, so a daemon that
 * accepts and never answers cannot hang a call), an abort is CANCELLED.
 */
import type {Socket} from 'node:net'

import {Http2Connection, StreamEnd, StreamFailure, StreamHandle} from './http2/connection'
import {ErrorCode} from './http2/frames'
import type {HeaderField} from './http2/hpack'

/** gRPC status codes used here (grpc/status.proto). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const

/** A failed call: the gRPC status code and the server's (or our) message, as grpc-js reports them. */
export class GrpcStatusError extends Error {
  readonly code: number
  readonly details: string

  constructor(code: number, details: string) {
    super(`${code} ${details}`)
    this.name = 'GrpcStatusError'
    this.code = code
    this.details = details
  }
}

export interface TransportOptions {
  /** Largest message accepted or sent, in bytes (Go's client: 16 MiB). */
  maxMessageBytes?: number
}

export interface TransportCallOptions {
  /** Request headers (gRPC metadata), e.g. `containerd-namespace`. */
  metadata?: Record<string, string>
  /** Deadline in ms; none when absent. */
  timeoutMs?: number
  signal?: AbortSignal
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
/** Stream and connection receive windows: the 64 KiB HTTP/2 default makes a large listing take round trips. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024
/** A server stream stops granting the server window once this many messages wait unread. */
const MAX_QUEUED_MESSAGES = 64

export class Http2Transport {
  private connection?: Http2Connection
  /** Every open connection: the current one and any still finishing calls after GOAWAY. */
  private readonly connections = new Set<Http2Connection>()
  private readonly maxMessageBytes: number

  constructor(
    readonly socketPath: string,
    options: TransportOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  }

  /** One request message, one response message. */
  unary(path: string, request: Uint8Array, options: TransportCallOptions = {}): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let response: Uint8Array | undefined
      let count = 0
      this.call(path, request, options, {
        onMessage: (message) => {
          response = message
          count++
        },
        onEnd: (error) => {
          if (error) reject(error)
          else if (count !== 1) reject(new GrpcStatusError(Status.INTERNAL, `expected 1 response message, got ${count}`))
          else resolve(response!)
        },
      })
    })
  }

  /** One request message, a stream of response messages; breaking out of the loop cancels the call. */
  async *serverStream(path: string, request: Uint8Array, options: TransportCallOptions = {}): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = []
    let finished = false
    let failure: Error | undefined
    let wake: (() => void) | undefined
    const call = this.call(path, request, options, {
      onMessage: (message) => {
        queue.push(message)
        if (queue.length >= MAX_QUEUED_MESSAGES) call.pause()
        wake?.()
      },
      onEnd: (error) => {
        finished = true
        failure = error
        wake?.()
      },
    })
    try {
      for (;;) {
        if (queue.length > 0) {
          const message = queue.shift()!
          if (queue.length < MAX_QUEUED_MESSAGES / 2) call.resume()
          yield message
        } else if (finished) {
          if (failure) throw failure
          return
        } else {
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
        }
      }
    } finally {
      call.cancel()
    }
  }

  /** Closes the connections; calls still running fail with CANCELLED. */
  close(): void {
    this.connection = undefined
    for (const connection of [...this.connections]) connection.close()
  }

  private call(
    path: string,
    request: Uint8Array,
    options: TransportCallOptions,
    handlers: {onMessage(message: Uint8Array): void; onEnd(error?: Error): void},
  ): {cancel(): void; pause(): void; resume(): void} {
    let done = false
    let stream: StreamHandle | undefined
    let timer: NodeJS.Timeout | undefined
    const signal = options.signal
    const finish = (error?: Error) => {
      if (done) return
      done = true
      if (timer) clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      handlers.onEnd(error)
    }
    /** Ends the call from our side: tell the server (RST_STREAM CANCEL) and report `error`. */
    const cancel = (error?: Error) => {
      stream?.cancel()
      finish(error)
    }
    const onAbort = () => cancel(new GrpcStatusError(Status.CANCELLED, 'Cancelled on client'))
    const handle = {cancel: () => cancel(), pause: () => stream?.pause(), resume: () => stream?.resume()}

    if (signal?.aborted) {
      onAbort()
      return handle
    }
    if (request.length > this.maxMessageBytes) {
      finish(new GrpcStatusError(Status.RESOURCE_EXHAUSTED, `request message larger than ${this.maxMessageBytes} bytes (${request.length})`))
      return handle
    }

    const headers: HeaderField[] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['user-agent', 'ctr-node-http2'],
    ]
    for (const [name, value] of Object.entries(options.metadata ?? {})) headers.push([name.toLowerCase(), value])
    if (options.timeoutMs) headers.push(['grpc-timeout', grpcTimeout(options.timeoutMs)])

    let status: number | undefined
    let message = ''
    let httpStatus: number | undefined
    const decoder = new FrameDecoder(this.maxMessageBytes)
    const onEnd = (end: StreamEnd) => {
      if (done) return
      if (status !== undefined) {
        if (status === Status.OK && decoder.pending()) finish(new GrpcStatusError(Status.INTERNAL, 'response ended inside a message'))
        else finish(status === Status.OK ? undefined : new GrpcStatusError(status, message))
      } else if (httpStatus !== undefined && httpStatus !== 200) {
        finish(new GrpcStatusError(statusFromHttp(httpStatus), `HTTP status ${httpStatus} from ${this.socketPath}`))
      } else if (end.type === 'failed') {
        finish(statusFromFailure(end.failure))
      } else if (end.type === 'reset' && end.code !== ErrorCode.NO_ERROR) {
        finish(statusFromRst(end.code))
      } else {
        finish(new GrpcStatusError(Status.UNKNOWN, 'stream ended without a gRPC status'))
      }
    }

    try {
      stream = this.acquire().request(headers, frame(request), {
        // Response headers first (":status"), trailers last; either may carry the status ("Trailers-Only").
        onHeaders: (fields) => {
          for (const [name, value] of fields) {
            if (name === ':status') httpStatus = Number(value)
            else if (name === 'grpc-status') status = Number(value)
            else if (name === 'grpc-message') message = decodeGrpcMessage(value)
          }
        },
        onData: (chunk) => {
          if (done) return
          let messages: Uint8Array[]
          try {
            messages = decoder.push(chunk)
          } catch (error) {
            cancel(error as Error)
            return
          }
          for (const m of messages) handlers.onMessage(m)
        },
        onEnd,
      })
    } catch (error) {
      finish(unavailable(error))
      return handle
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    if (options.timeoutMs) {
      timer = setTimeout(() => cancel(new GrpcStatusError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')), options.timeoutMs)
    }
    return handle
  }

  /** The shared connection, opened on first use and again after the daemon went away (restart, GOAWAY). */
  private acquire(): Http2Connection {
    if (this.connection?.usable) return this.connection
    // node:net is in Node's start-up snapshot: requiring it costs nothing. The module object, not a
    // destructured function, so tests can watch connect().
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const net = require('node:net') as typeof import('node:net')
    const socket: Socket = net.connect({path: this.socketPath})
    const connection: Http2Connection = new Http2Connection(socket, {
      streamWindowBytes: STREAM_WINDOW_BYTES,
      connectionWindowBytes: SESSION_WINDOW_BYTES,
      onClose: () => {
        this.connections.delete(connection)
        if (this.connection === connection) this.connection = undefined
      },
    })
    this.connections.add(connection)
    this.connection = connection
    return connection
  }
}

/** Reassembles length-prefixed gRPC messages from DATA chunks, which split and join them arbitrarily. */
export class FrameDecoder {
  /** Received bytes not yet returned as messages; joined only when a message is complete. */
  private chunks: Buffer[] = []
  private length = 0

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.length += chunk.length
    }
    const messages: Uint8Array[] = []
    while (this.length >= 5) {
      const prefix = this.peek(5)
      if (prefix[0] !== 0) {
        // We never announce grpc-accept-encoding, so a compressed message is a protocol error.
        throw new GrpcStatusError(Status.INTERNAL, 'compressed message received, but no compression was negotiated')
      }
      const length = prefix.readUInt32BE(1)
      if (length > this.maxMessageBytes) {
        throw new GrpcStatusError(
          Status.RESOURCE_EXHAUSTED,
          `Received message larger than max (${length} vs. ${this.maxMessageBytes})`,
        )
      }
      if (this.length < 5 + length) break
      this.take(5)
      messages.push(this.take(length))
    }
    return messages
  }

  /** True while part of a message is still missing. */
  pending(): boolean {
    return this.length > 0
  }

  /** The first `n` buffered bytes, joining chunks only if the first is shorter. */
  private peek(n: number): Buffer {
    let count = 1
    for (let have = this.chunks[0].length; have < n; count++) have += this.chunks[count].length
    if (count > 1) this.chunks.splice(0, count, Buffer.concat(this.chunks.slice(0, count)))
    return this.chunks[0]
  }

  private take(n: number): Buffer {
    if (n === 0) return EMPTY
    this.length -= n
    const first = this.chunks[0]
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    // A message spread over several DATA frames: one copy, however many frames.
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    let used = 0
    while (filled < n) {
      const chunk = this.chunks[used]
      const part = Math.min(chunk.length, n - filled)
      chunk.copy(out, filled, 0, part)
      filled += part
      if (part === chunk.length) used++
      else this.chunks[used] = chunk.subarray(part)
    }
    this.chunks.splice(0, used)
    return out
  }
}

const EMPTY = Buffer.alloc(0)

/** One uncompressed gRPC message frame. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  out.set(message, 5)
  return out
}

/** `grpc-timeout`: at most 8 digits and a unit; milliseconds unless that needs more digits. */
export function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms))
  if (whole < 1e8) return `${whole}m`
  if (whole / 1000 < 1e8) return `${Math.ceil(whole / 1000)}S`
  return `${Math.min(99_999_999, Math.ceil(whole / 3_600_000))}H`
}

/** `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md); a malformed escape is kept as it is. */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex) => {
      const byte = Number.parseInt(hex, 16)
      return byte < 0x80 ? String.fromCharCode(byte) : escape
    })
  }
}

/** The gRPC code for a non-200 HTTP status without grpc-status (grpc/doc/http-grpc-status-mapping.md). */
export function statusFromHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL
    case 401:
      return Status.UNAUTHENTICATED
    case 403:
      return Status.PERMISSION_DENIED
    case 404:
      return Status.UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE
    default:
      return Status.UNKNOWN
  }
}

/** A stream reset by the server without a status (grpc-js maps RST_STREAM codes the same way). */
function statusFromRst(rstCode: number): GrpcStatusError {
  switch (rstCode) {
    case ErrorCode.REFUSED_STREAM:
      return new GrpcStatusError(Status.UNAVAILABLE, 'Stream refused by server')
    case ErrorCode.CANCEL:
      return new GrpcStatusError(Status.CANCELLED, 'Call cancelled')
    case ErrorCode.ENHANCE_YOUR_CALM:
      return new GrpcStatusError(Status.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded')
    case ErrorCode.INADEQUATE_SECURITY:
      return new GrpcStatusError(Status.PERMISSION_DENIED, 'Protocol not secure enough')
    default:
      return new GrpcStatusError(Status.INTERNAL, `Received RST_STREAM with code ${rstCode}`)
  }
}

/** A stream ended by its connection: closed by us, lost, or broken by a protocol error. */
function statusFromFailure(failure: StreamFailure): GrpcStatusError {
  switch (failure.kind) {
    case 'closed':
      return new GrpcStatusError(Status.CANCELLED, failure.message)
    case 'protocol':
      return new GrpcStatusError(Status.INTERNAL, failure.message)
    default:
      return new GrpcStatusError(Status.UNAVAILABLE, failure.message)
  }
}

/** A connection-level failure as UNAVAILABLE, keeping the errno text errors.ts reads (ENOENT, EACCES...). */
function unavailable(error: unknown): GrpcStatusError {
  if (error instanceof GrpcStatusError) return error
  const text = error instanceof Error ? error.message : String(error)
  return new GrpcStatusError(Status.UNAVAILABLE, text)
}
