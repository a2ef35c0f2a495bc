/**
 * A small gRPC client transport on node:http2, for the two call shapes containerd's API uses: unary and
 * server streaming. It replaces @grpc/grpc-js at run time because loading grpc-js costs more than the call
 * (≈14 ms of a ctr start-up; see README "Performance"), and ctr needs none of its channel machinery (name
 * resolution, load balancing, retries, TLS): one unix socket, one HTTP/2 session shared by every call.
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
import type {ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, IncomingHttpStatusHeader} from 'node:http2'

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
/** A server stream pauses the socket once this many messages wait unread. */
const MAX_QUEUED_MESSAGES = 64

export class Http2Transport {
  private session?: ClientHttp2Session
  /** Why a session failed, for the calls that were on it. */
  private readonly sessionErrors = new WeakMap<ClientHttp2Session, Error>()
  private activeCalls = 0
  private readonly closedByUs = new WeakSet<ClientHttp2Session>()
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

  /** Closes the session; calls still running fail with CANCELLED. */
  close(): void {
    const session = this.session
    this.session = undefined
    if (session && !session.destroyed) {
      this.closedByUs.add(session)
      session.destroy()
    }
  }

  private call(
    path: string,
    request: Uint8Array,
    options: TransportCallOptions,
    handlers: {onMessage(message: Uint8Array): void; onEnd(error?: Error): void},
  ): {cancel(): void; pause(): void; resume(): void} {
    let done = false
    let stream: ClientHttp2Stream | undefined
    let timer: NodeJS.Timeout | undefined
    const signal = options.signal
    const finish = (error?: Error) => {
      if (done) return
      done = true
      if (timer) clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      this.release()
      handlers.onEnd(error)
    }
    /** Ends the call from our side: tell the server (RST_STREAM CANCEL) and report `error`. */
    const cancel = (error?: Error) => {
      if (stream && !stream.closed && !stream.destroyed) stream.close(http2Constants().NGHTTP2_CANCEL)
      finish(error)
    }
    const onAbort = () => cancel(new GrpcStatusError(Status.CANCELLED, 'Cancelled on client'))
    const handle = {cancel: () => cancel(), pause: () => stream?.pause(), resume: () => stream?.resume()}

    if (signal?.aborted) {
      // finish() releases a call; count this one so the books balance.
      this.activeCalls++
      onAbort()
      return handle
    }
    if (request.length > this.maxMessageBytes) {
      this.activeCalls++
      finish(new GrpcStatusError(Status.RESOURCE_EXHAUSTED, `request message larger than ${this.maxMessageBytes} bytes (${request.length})`))
      return handle
    }

    let session: ClientHttp2Session
    try {
      session = this.acquire()
    } catch (error) {
      this.activeCalls++
      finish(unavailable(error))
      return handle
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    if (options.timeoutMs) {
      timer = setTimeout(() => cancel(new GrpcStatusError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')), options.timeoutMs)
    }

    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'ctr-node-http2',
      ...options.metadata,
    }
    if (options.timeoutMs) headers['grpc-timeout'] = grpcTimeout(options.timeoutMs)
    try {
      stream = session.request(headers, {endStream: false})
    } catch (error) {
      finish(unavailable(error))
      return handle
    }

    let status: number | undefined
    let message = ''
    let httpStatus: number | undefined
    const readStatus = (fields: IncomingHttpHeaders & IncomingHttpStatusHeader) => {
      const code = fields['grpc-status']
      if (code !== undefined) {
        status = Number(code)
        message = decodeGrpcMessage(String(fields['grpc-message'] ?? ''))
      }
    }
    stream.on('response', (fields) => {
      httpStatus = Number(fields[':status'])
      readStatus(fields)
    })
    stream.on('trailers', readStatus)

    const decoder = new FrameDecoder(this.maxMessageBytes)
    stream.on('data', (chunk: Buffer) => {
      if (done) return
      let messages: Uint8Array[]
      try {
        messages = decoder.push(chunk)
      } catch (error) {
        cancel(error as Error)
        return
      }
      for (const m of messages) handlers.onMessage(m)
    })
    // A stream error (RST_STREAM, session torn down) is followed by 'close', which decides the outcome.
    let streamError: Error | undefined
    stream.on('error', (error) => (streamError = error))
    stream.on('close', () => {
      if (done) return
      const rstCode = stream!.rstCode ?? 0
      if (status !== undefined) {
        if (status === Status.OK && decoder.pending()) finish(new GrpcStatusError(Status.INTERNAL, 'response ended inside a message'))
        else finish(status === Status.OK ? undefined : new GrpcStatusError(status, message))
      } else if (httpStatus !== undefined && httpStatus !== 200) {
        finish(new GrpcStatusError(statusFromHttp(httpStatus), `HTTP status ${httpStatus} from ${this.socketPath}`))
      } else if (this.closedByUs.has(session)) {
        finish(new GrpcStatusError(Status.CANCELLED, 'Channel closed'))
      } else if (this.sessionErrors.has(session) || session.destroyed || session.closed) {
        // The session's own error names the cause (connect ECONNREFUSED ...); a pending stream's wraps it.
        finish(unavailable(this.sessionErrors.get(session) ?? streamError ?? new Error('Connection dropped')))
      } else if (rstCode !== 0) {
        finish(statusFromRst(rstCode))
      } else {
        finish(new GrpcStatusError(Status.UNKNOWN, 'stream ended without a gRPC status'))
      }
    })
    stream.end(frame(request))
    return handle
  }

  /** The shared session, opened on first use and again after the daemon went away (restart, GOAWAY). */
  private acquire(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) {
      if (this.activeCalls++ === 0) this.session.ref()
      return this.session
    }
    // Required here rather than imported: commands that never call the daemon never load http2.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const http2 = require('node:http2') as typeof import('node:http2')
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const net = require('node:net') as typeof import('node:net')
    const socketPath = this.socketPath
    const session = http2.connect('http://localhost', {
      createConnection: () => net.connect({path: socketPath}),
      settings: {enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES},
      // Header lists are small; the default session memory cap (10 MB) is below one large message.
      maxSessionMemory: 64,
    })
    this.session = session
    session.on('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES)
      } catch {
        // an older peer or a closing session: keep the default window
      }
    })
    session.on('error', (error) => this.sessionErrors.set(session, error))
    // GOAWAY (daemon shutting down) or a closed socket: new calls open a new session.
    const forget = () => {
      if (this.session === session) this.session = undefined
    }
    session.on('goaway', forget)
    session.on('close', forget)
    this.activeCalls++
    return session
  }

  /** One call fewer; an idle session must not keep the process alive. */
  private release(): void {
    if (--this.activeCalls === 0) this.session?.unref()
  }
}

/** Reassembles length-prefixed gRPC messages from DATA chunks, which split and join them arbitrarily. */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0)

  constructor(private readonly maxMessageBytes: number) {}

  push(chunk: Buffer): Uint8Array[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const messages: Uint8Array[] = []
    while (this.buffer.length >= 5) {
      if (this.buffer[0] !== 0) {
        // We never announce grpc-accept-encoding, so a compressed message is a protocol error.
        throw new GrpcStatusError(Status.INTERNAL, 'compressed message received, but no compression was negotiated')
      }
      const length = this.buffer.readUInt32BE(1)
      if (length > this.maxMessageBytes) {
        throw new GrpcStatusError(
          Status.RESOURCE_EXHAUSTED,
          `Received message larger than max (${length} vs. ${this.maxMessageBytes})`,
        )
      }
      if (this.buffer.length < 5 + length) break
      messages.push(this.buffer.subarray(5, 5 + length))
      this.buffer = this.buffer.subarray(5 + length)
    }
    return messages
  }

  /** True while part of a message is still missing. */
  pending(): boolean {
    return this.buffer.length > 0
  }
}

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
  const c = http2Constants()
  switch (rstCode) {
    case c.NGHTTP2_REFUSED_STREAM:
      return new GrpcStatusError(Status.UNAVAILABLE, 'Stream refused by server')
    case c.NGHTTP2_CANCEL:
      return new GrpcStatusError(Status.CANCELLED, 'Call cancelled')
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return new GrpcStatusError(Status.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded')
    case c.NGHTTP2_INADEQUATE_SECURITY:
      return new GrpcStatusError(Status.PERMISSION_DENIED, 'Protocol not secure enough')
    default:
      return new GrpcStatusError(Status.INTERNAL, `Received RST_STREAM with code ${rstCode}`)
  }
}

/** A connection-level failure as UNAVAILABLE, keeping the errno text errors.ts reads (ENOENT, EACCES...). */
function unavailable(error: unknown): GrpcStatusError {
  if (error instanceof GrpcStatusError) return error
  const text = error instanceof Error ? error.message : String(error)
  return new GrpcStatusError(Status.UNAVAILABLE, text)
}

function http2Constants(): typeof import('node:http2').constants {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:http2') as typeof import('node:http2')).constants
}
