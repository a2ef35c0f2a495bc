/**
 * A minimal HTTP/2 client connection (RFC 9113) over one socket, for gRPC requests: each request is one
 * HEADERS block and one body sent at once, each response headers, DATA and trailers. It exists because
 * node:http2 costs ≈14 ms of every ctr start-up to load and connect, several times what ctr's calls need.
 *
 * What it does: the connection preface, SETTINGS both ways, flow control both ways (send windows honoured,
 * receive windows granted as the consumer takes data, so a paused stream holds its producer back), PING
 * replies, GOAWAY, RST_STREAM, MAX_CONCURRENT_STREAMS, and connection errors for a misbehaving peer. What it
 * leaves out: server push (disabled), priorities (ignored), HPACK compression of our own headers.
 *
 * Everything written in one turn of the event loop goes out as one socket write, so the first call sends
 * preface, SETTINGS, WINDOW_UPDATE, HEADERS and DATA in one syscall.
 */
import type {Socket} from 'node:net'

import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  encodeFrame,
  encodeGoaway,
  encodeHeaders,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  ErrorCode,
  Flag,
  Frame,
  FRAME_HEADER_BYTES,
  FrameParser,
  framePayload,
  FrameType,
  Http2ProtocolError,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  PREFACE,
  Setting,
  writeFrameHeader,
} from './frames'
import {encodeHeaderBlock, HeaderField, HpackDecoder} from './hpack'

/** Why a stream ended without the server ending it. */
export type StreamFailureKind =
  /** close() on our side. */
  | 'closed'
  /** The socket failed or closed, or GOAWAY left the stream unprocessed: worth retrying on a new connection. */
  | 'unavailable'
  /** The server broke the protocol; the connection is closed. */
  | 'protocol'

export class StreamFailure extends Error {
  constructor(
    readonly kind: StreamFailureKind,
    message: string,
  ) {
    super(message)
    this.name = 'StreamFailure'
  }
}

export type StreamEnd =
  /** The server ended the stream (END_STREAM). */
  | {type: 'end'}
  /** The server reset the stream (RST_STREAM) with this error code. */
  | {type: 'reset'; code: number}
  | {type: 'failed'; failure: StreamFailure}

export interface StreamHandlers {
  /** Response headers, then trailers. */
  onHeaders(fields: HeaderField[]): void
  onData(data: Buffer): void
  /** Called once, last; not after cancel(). */
  onEnd(end: StreamEnd): void
}

export interface StreamHandle {
  /** Ends the stream from our side (RST_STREAM CANCEL); no handler is called afterwards. */
  cancel(): void
  /** Stops delivering data; the server is held back once the stream's receive window is used up. */
  pause(): void
  resume(): void
}

export interface ConnectionOptions {
  /** Our receive window per stream (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindowBytes?: number
  /** Our receive window for the whole connection. */
  connectionWindowBytes?: number
  /** The highest stream ID to use before the connection stops taking new streams (a test lowers it). */
  maxStreamId?: number
  /** Called once when the connection is closed, whatever the reason. */
  onClose?: () => void
}

type StreamEvent = {type: 'headers'; fields: HeaderField[]} | {type: 'data'; data: Buffer; flowBytes: number} | {type: 'end'; end: StreamEnd}

interface Stream {
  id: number
  handlers: StreamHandlers
  headerBlock: Buffer
  body: Buffer
  bodyOffset: number
  /** END_STREAM sent: the request is complete. */
  endSent: boolean
  /** On the wire: in `streams`, between HEADERS and the end of both directions. */
  open: boolean
  /** onEnd called or cancelled: nothing more for the handlers. */
  done: boolean
  sendWindow: number
  /** How much more the server may send before we grant more. */
  receiveWindow: number
  /** Bytes the consumer took that we have not yet granted back. */
  consumed: number
  paused: boolean
  /** Events waiting while the stream is paused (or while earlier ones are still waiting). */
  backlog: StreamEvent[]
}

/** Header blocks larger than this are refused (ENHANCE_YOUR_CALM); gRPC's are a few hundred bytes. */
const MAX_HEADER_BLOCK_BYTES = 1024 * 1024
/** Writes up to this size are joined into one buffer; larger ones go out as one writev. */
const JOIN_WRITES_BELOW = 256 * 1024
/** After a connection error, how long the server gets to read our GOAWAY and close before the socket is destroyed. */
const GRACEFUL_CLOSE_MS = 1000

export class Http2Connection {
  private readonly parser = new FrameParser(DEFAULT_MAX_FRAME_SIZE)
  private readonly decoder = new HpackDecoder()
  private readonly streams = new Map<number, Stream>()
  /** Streams waiting for the server's MAX_CONCURRENT_STREAMS to allow them, in ID order. */
  private readonly waiting: Stream[] = []
  /** Open streams with request bytes held back by a send window. */
  private readonly blocked = new Set<Stream>()
  private readonly streamWindowBytes: number
  private readonly connectionWindowBytes: number
  private readonly maxStreamId: number
  private readonly onClose?: () => void

  private nextStreamId = 1
  /**
   * The highest stream ID we sent HEADERS on. Streams open in ID order, so every ID above it (allocated and
   * still waiting, or never used) is idle (RFC 9113 §5.1), and every one at or below it is open or closed.
   */
  private highestOpenedId = 0
  /** The header block being received across HEADERS and CONTINUATION frames. */
  private headerBlock?: {stream: Stream | undefined; streamId: number; endStream: boolean; fragments: Buffer[]; size: number}
  private sawSettings = false

  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE
  private peerInitialWindow = DEFAULT_WINDOW_SIZE
  private peerMaxConcurrentStreams = Infinity
  private sendWindow = DEFAULT_WINDOW_SIZE
  private receiveWindow: number
  private receivedUngranted = 0

  private output: Buffer[] = []
  private outputBytes = 0
  private flushScheduled = false

  /** Streams the handlers have not seen the end of: the socket is ref'd while there are any. */
  private active = 0
  /** GOAWAY received, or stream IDs used up: no new streams; closed once the last one ends. */
  private draining = false
  private closed = false
  private socketError?: Error

  constructor(
    private readonly socket: Socket,
    options: ConnectionOptions = {},
  ) {
    this.streamWindowBytes = options.streamWindowBytes ?? DEFAULT_WINDOW_SIZE
    this.connectionWindowBytes = Math.max(DEFAULT_WINDOW_SIZE, options.connectionWindowBytes ?? DEFAULT_WINDOW_SIZE)
    this.maxStreamId = options.maxStreamId ?? MAX_WINDOW_SIZE
    this.onClose = options.onClose
    this.receiveWindow = this.connectionWindowBytes

    // We may send requests before the server's SETTINGS arrive (RFC 9113 §3.4): no round trip is waited for.
    this.queue(PREFACE)
    this.queue(
      encodeSettings([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, this.streamWindowBytes],
      ]),
    )
    if (this.connectionWindowBytes > DEFAULT_WINDOW_SIZE) {
      this.queue(encodeWindowUpdate(0, this.connectionWindowBytes - DEFAULT_WINDOW_SIZE))
    }

    // An idle connection must never keep the process alive.
    socket.unref()
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', (error) => (this.socketError ??= error))
    socket.on('close', () => this.fail(new StreamFailure('unavailable', this.socketError?.message ?? 'Connection dropped')))
  }

  /** False once the connection cannot take new streams (closed, GOAWAY, stream IDs used up). */
  get usable(): boolean {
    return !this.closed && !this.draining && this.nextStreamId <= this.maxStreamId
  }

  /** Sends a request: `headers` (pseudo-headers first) and a body sent whole, ending our side of the stream. */
  request(headers: HeaderField[], body: Buffer, handlers: StreamHandlers): StreamHandle {
    if (!this.usable) throw new StreamFailure('unavailable', 'Connection not usable for new streams')
    const stream: Stream = {
      id: this.nextStreamId,
      handlers,
      headerBlock: encodeHeaderBlock(headers),
      body,
      bodyOffset: 0,
      endSent: false,
      open: false,
      done: false,
      sendWindow: this.peerInitialWindow,
      receiveWindow: this.streamWindowBytes,
      consumed: 0,
      paused: false,
      backlog: [],
    }
    this.nextStreamId += 2
    if (this.nextStreamId > this.maxStreamId) this.draining = true
    if (this.active++ === 0) this.socket.ref()
    if (this.waiting.length > 0 || this.streams.size >= this.peerMaxConcurrentStreams) this.waiting.push(stream)
    else this.open(stream)
    return {
      cancel: () => this.cancel(stream),
      pause: () => {
        stream.paused = true
      },
      resume: () => {
        if (!stream.paused) return
        stream.paused = false
        this.drainBacklog(stream)
      },
    }
  }

  /** Closes the connection at once; streams still running end with a 'closed' failure. */
  close(): void {
    this.fail(new StreamFailure('closed', 'Channel closed'))
  }

  // -- sending ----------------------------------------------------------------------------------------------

  private open(stream: Stream): void {
    stream.open = true
    this.streams.set(stream.id, stream)
    this.highestOpenedId = stream.id
    for (const frame of encodeHeaders(stream.id, stream.headerBlock, false, this.peerMaxFrameSize)) this.queue(frame)
    this.sendBody(stream)
  }

  /** Sends as much of the body as the windows allow; the rest waits for WINDOW_UPDATE. */
  private sendBody(stream: Stream): void {
    while (!stream.endSent) {
      const remaining = stream.body.length - stream.bodyOffset
      // An empty body needs no window (a window may even be negative, §6.9.2): just the END_STREAM frame.
      const size = remaining === 0 ? 0 : Math.min(remaining, stream.sendWindow, this.sendWindow, this.peerMaxFrameSize)
      if (remaining > 0 && size <= 0) {
        this.blocked.add(stream)
        return
      }
      const end = size === remaining
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
      writeFrameHeader(header, 0, size, FrameType.DATA, end ? Flag.END_STREAM : 0, stream.id)
      this.queue(header)
      if (size > 0) this.queue(stream.body.subarray(stream.bodyOffset, stream.bodyOffset + size))
      stream.bodyOffset += size
      stream.sendWindow -= size
      this.sendWindow -= size
      if (end) {
        stream.endSent = true
        stream.body = EMPTY
      }
    }
    this.blocked.delete(stream)
  }

  private sendBlocked(): void {
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return
      this.sendBody(stream)
    }
  }

  private queue(bytes: Buffer): void {
    if (this.closed) return
    this.output.push(bytes)
    this.outputBytes += bytes.length
    if (!this.flushScheduled) {
      this.flushScheduled = true
      process.nextTick(() => this.flush())
    }
  }

  private flush(): void {
    this.flushScheduled = false
    const output = this.output
    const bytes = this.outputBytes
    this.output = []
    this.outputBytes = 0
    if (this.closed || output.length === 0) return
    if (output.length === 1 || bytes <= JOIN_WRITES_BELOW) {
      this.socket.write(output.length === 1 ? output[0] : Buffer.concat(output, bytes))
    } else {
      this.socket.cork()
      for (const chunk of output) this.socket.write(chunk)
      this.socket.uncork()
    }
  }

  // -- receiving --------------------------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    if (this.closed) return
    try {
      for (const frame of this.parser.push(chunk)) {
        this.handleFrame(frame)
        if (this.closed) return
      }
    } catch (error) {
      const protocolError = error instanceof Http2ProtocolError ? error : new Http2ProtocolError(ErrorCode.INTERNAL_ERROR, String(error))
      this.connectionError(protocolError)
    }
  }

  private handleFrame(frame: Frame): void {
    if (this.headerBlock && frame.type !== FrameType.CONTINUATION) {
      throw protocolError('header block interrupted by another frame')
    }
    if (!this.sawSettings) {
      // The server's preface is a SETTINGS frame (§3.4).
      if (frame.type !== FrameType.SETTINGS || frame.flags & Flag.ACK) throw protocolError('server preface is not SETTINGS')
      this.sawSettings = true
    }
    switch (frame.type) {
      case FrameType.DATA:
        return this.onData(frame)
      case FrameType.HEADERS:
        return this.onHeaders(frame)
      case FrameType.CONTINUATION:
        return this.onContinuation(frame)
      case FrameType.PRIORITY:
        if (frame.streamId === 0) throw protocolError('PRIORITY on stream 0')
        if (frame.payload.length !== 5) throw frameSizeError('PRIORITY')
        return
      case FrameType.RST_STREAM:
        return this.onRstStream(frame)
      case FrameType.SETTINGS:
        return this.onSettings(frame)
      case FrameType.PUSH_PROMISE:
        throw protocolError('PUSH_PROMISE, with push disabled')
      case FrameType.PING:
        if (frame.streamId !== 0) throw protocolError('PING on a stream')
        if (frame.payload.length !== 8) throw frameSizeError('PING')
        if (!(frame.flags & Flag.ACK)) this.queue(encodeFrame(FrameType.PING, Flag.ACK, 0, frame.payload))
        return
      case FrameType.GOAWAY:
        return this.onGoaway(frame)
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(frame)
      default:
      // Unknown frame types are ignored (§5.5).
    }
  }

  /**
   * The stream a frame names; undefined for one we reset or finished; a connection error for an idle one
   * (§5.1): an even ID (the server may not open streams, push is disabled), or an ID we have not sent HEADERS
   * on, whether never used or allocated to a stream still waiting for MAX_CONCURRENT_STREAMS.
   */
  private streamFor(frame: Frame, what: string): Stream | undefined {
    if (frame.streamId === 0) throw protocolError(`${what} on stream 0`)
    if (frame.streamId % 2 === 0 || frame.streamId > this.highestOpenedId) {
      throw protocolError(`${what} on stream ${frame.streamId}, which we have not opened`)
    }
    return this.streams.get(frame.streamId)
  }

  private onData(frame: Frame): void {
    const stream = this.streamFor(frame, 'DATA')
    // The whole frame, padding included, counts against both windows (§6.9.1).
    const flowBytes = frame.payload.length
    this.receiveWindow -= flowBytes
    if (this.receiveWindow < 0) throw new Http2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window')
    // The connection window is granted back on receipt: a paused stream is held back by its own window,
    // and must not stall the others.
    this.receivedUngranted += flowBytes
    if (this.receivedUngranted >= this.connectionWindowBytes / 4) {
      this.queue(encodeWindowUpdate(0, this.receivedUngranted))
      this.receiveWindow += this.receivedUngranted
      this.receivedUngranted = 0
    }
    const data = framePayload(frame)
    if (!stream) return // reset by us: only the connection window cared
    stream.receiveWindow -= flowBytes
    if (stream.receiveWindow < 0) throw new Http2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, `DATA beyond stream ${stream.id}'s window`)
    this.deliver(stream, {type: 'data', data, flowBytes})
    if (frame.flags & Flag.END_STREAM) this.remoteEnded(stream)
  }

  private onHeaders(frame: Frame): void {
    const stream = this.streamFor(frame, 'HEADERS')
    const fragment = framePayload(frame)
    this.headerBlock = {stream, streamId: frame.streamId, endStream: (frame.flags & Flag.END_STREAM) !== 0, fragments: [fragment], size: fragment.length}
    if (frame.flags & Flag.END_HEADERS) this.endHeaderBlock()
  }

  private onContinuation(frame: Frame): void {
    const block = this.headerBlock
    if (!block || block.streamId !== frame.streamId) throw protocolError('CONTINUATION without HEADERS on its stream')
    block.fragments.push(frame.payload)
    block.size += frame.payload.length
    if (block.size > MAX_HEADER_BLOCK_BYTES) {
      throw new Http2ProtocolError(ErrorCode.ENHANCE_YOUR_CALM, `header block larger than ${MAX_HEADER_BLOCK_BYTES} bytes`)
    }
    if (frame.flags & Flag.END_HEADERS) this.endHeaderBlock()
  }

  private endHeaderBlock(): void {
    const {stream, endStream, fragments} = this.headerBlock!
    this.headerBlock = undefined
    // Decoded even for a stream we reset: the HPACK table must follow every block the server sent.
    const fields = this.decoder.decode(fragments.length === 1 ? fragments[0] : Buffer.concat(fragments))
    if (!stream || !stream.open) return
    this.deliver(stream, {type: 'headers', fields})
    if (endStream) this.remoteEnded(stream)
  }

  private onRstStream(frame: Frame): void {
    const stream = this.streamFor(frame, 'RST_STREAM')
    if (frame.payload.length !== 4) throw frameSizeError('RST_STREAM')
    if (!stream) return
    this.closeStream(stream)
    this.deliver(stream, {type: 'end', end: {type: 'reset', code: frame.payload.readUInt32BE(0)}})
  }

  private onSettings(frame: Frame): void {
    if (frame.streamId !== 0) throw protocolError('SETTINGS on a stream')
    if (frame.flags & Flag.ACK) {
      if (frame.payload.length !== 0) throw frameSizeError('SETTINGS ACK')
      return
    }
    if (frame.payload.length % 6 !== 0) throw frameSizeError('SETTINGS')
    for (let offset = 0; offset < frame.payload.length; offset += 6) {
      const id = frame.payload.readUInt16BE(offset)
      const value = frame.payload.readUInt32BE(offset + 2)
      switch (id) {
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW_SIZE) throw new Http2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`)
          // Applies to open streams too, by the difference; a window may go negative (§6.9.2).
          const delta = value - this.peerInitialWindow
          this.peerInitialWindow = value
          for (const stream of [...this.streams.values(), ...this.waiting]) {
            stream.sendWindow += delta
            if (stream.sendWindow > MAX_WINDOW_SIZE) throw new Http2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${stream.id} window above 2^31-1`)
          }
          break
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) throw protocolError(`MAX_FRAME_SIZE ${value}`)
          this.peerMaxFrameSize = value
          break
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrentStreams = value
          break
        case Setting.ENABLE_PUSH:
          if (value > 1) throw protocolError(`ENABLE_PUSH ${value}`)
          break
        default:
        // HEADER_TABLE_SIZE limits the server's decoder, and our encoder never uses the dynamic table;
        // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored (§6.5.2).
      }
    }
    this.queue(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0))
    this.sendBlocked()
    this.openWaiting()
  }

  private onGoaway(frame: Frame): void {
    if (frame.streamId !== 0) throw protocolError('GOAWAY on a stream')
    if (frame.payload.length < 8) throw frameSizeError('GOAWAY')
    const lastStreamId = frame.payload.readUInt32BE(0) & 0x7fffffff
    const code = frame.payload.readUInt32BE(4)
    this.draining = true
    // Streams above lastStreamId were never processed; those at or below it still finish.
    const failure = new StreamFailure('unavailable', `Connection dropped (GOAWAY, code ${code})`)
    const unprocessed = [...this.streams.values()].filter((stream) => stream.id > lastStreamId)
    for (const stream of [...unprocessed, ...this.waiting.splice(0)]) {
      this.closeStream(stream)
      this.deliver(stream, {type: 'end', end: {type: 'failed', failure}})
    }
    this.closeIfIdle()
  }

  private onWindowUpdate(frame: Frame): void {
    if (frame.payload.length !== 4) throw frameSizeError('WINDOW_UPDATE')
    const increment = frame.payload.readUInt32BE(0) & 0x7fffffff
    if (frame.streamId === 0) {
      if (increment === 0) throw protocolError('WINDOW_UPDATE of 0')
      this.sendWindow += increment
      if (this.sendWindow > MAX_WINDOW_SIZE) throw new Http2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1')
      this.sendBlocked()
      return
    }
    const stream = this.streamFor(frame, 'WINDOW_UPDATE')
    if (!stream) return
    stream.sendWindow += increment
    if (increment === 0 || stream.sendWindow > MAX_WINDOW_SIZE) {
      // A stream error (§6.9, §6.9.1): reset that stream, keep the connection.
      this.queue(encodeRstStream(stream.id, increment === 0 ? ErrorCode.PROTOCOL_ERROR : ErrorCode.FLOW_CONTROL_ERROR))
      this.closeStream(stream, false)
      const failure = new StreamFailure('protocol', `invalid WINDOW_UPDATE on stream ${stream.id}`)
      this.deliver(stream, {type: 'end', end: {type: 'failed', failure}})
      return
    }
    if (this.blocked.has(stream)) this.sendBody(stream)
  }

  // -- stream life --------------------------------------------------------------------------------------------

  /** The server ended its side. If our request is still going out (an early answer), stop sending it. */
  private remoteEnded(stream: Stream): void {
    this.closeStream(stream, !stream.endSent)
    this.deliver(stream, {type: 'end', end: {type: 'end'}})
  }

  /** Takes the stream off the wire (optionally telling the server with RST_STREAM CANCEL). */
  private closeStream(stream: Stream, reset = false): void {
    if (!stream.open) {
      const i = this.waiting.indexOf(stream)
      if (i >= 0) this.waiting.splice(i, 1)
      return
    }
    stream.open = false
    if (reset) this.queue(encodeRstStream(stream.id, ErrorCode.CANCEL))
    this.streams.delete(stream.id)
    this.blocked.delete(stream)
    stream.body = EMPTY
    this.openWaiting()
  }

  private openWaiting(): void {
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxConcurrentStreams && !this.closed) {
      this.open(this.waiting.shift()!)
    }
  }

  private cancel(stream: Stream): void {
    if (stream.done) return
    stream.done = true
    stream.backlog = []
    this.closeStream(stream, true)
    this.release()
  }

  /** Hands an event to the handlers, or keeps it while the stream is paused or has a backlog. */
  private deliver(stream: Stream, event: StreamEvent): void {
    if (stream.done) return
    if (stream.paused || stream.backlog.length > 0) {
      stream.backlog.push(event)
      return
    }
    this.dispatch(stream, event)
  }

  private drainBacklog(stream: Stream): void {
    while (!stream.paused && !stream.done && stream.backlog.length > 0) this.dispatch(stream, stream.backlog.shift()!)
  }

  private dispatch(stream: Stream, event: StreamEvent): void {
    switch (event.type) {
      case 'headers':
        stream.handlers.onHeaders(event.fields)
        return
      case 'data':
        if (event.data.length > 0) stream.handlers.onData(event.data)
        // Granted back only now that the consumer took it: a paused stream's producer runs out of window.
        stream.consumed += event.flowBytes
        if (stream.open && stream.consumed >= this.streamWindowBytes / 4) {
          this.queue(encodeWindowUpdate(stream.id, stream.consumed))
          stream.receiveWindow += stream.consumed
          stream.consumed = 0
        }
        return
      case 'end':
        stream.done = true
        this.release()
        stream.handlers.onEnd(event.end)
    }
  }

  /** One stream fewer for the handlers: unref an idle socket, close a draining connection. */
  private release(): void {
    if (--this.active === 0 && !this.closed) this.socket.unref()
    this.closeIfIdle()
  }

  private closeIfIdle(): void {
    if (this.draining && !this.closed && this.streams.size === 0 && this.waiting.length === 0) {
      this.flush()
      this.closed = true
      this.socket.end()
      this.socket.unref()
      this.onClose?.()
    }
  }

  /** A connection error (§5.4.1): tell the server with GOAWAY, close, fail every stream. */
  private connectionError(error: Http2ProtocolError): void {
    // Last-stream-id 0: a client accepts no server-initiated streams.
    this.queue(encodeGoaway(0, error.errorCode, error.message))
    this.flush()
    // Before the server's SETTINGS, the peer is most likely not an HTTP/2 server at all (an HTTP/1 server,
    // another daemon's socket): the caller could not connect to containerd, rather than containerd erring.
    const failure = this.sawSettings
      ? new StreamFailure('protocol', `HTTP/2 protocol error: ${error.message}`)
      : new StreamFailure('unavailable', `not a gRPC server (no HTTP/2 preface: ${error.message})`)
    this.fail(failure, true)
  }

  /**
   * Closes the socket and ends every stream not yet ended with `failure`. `graceful`: the socket is ended,
   * not destroyed, so bytes already written (the GOAWAY) still reach the server; it is destroyed if the
   * server has not closed its side within GRACEFUL_CLOSE_MS. Neither the socket nor the timer is ref'd.
   */
  private fail(failure: StreamFailure, graceful = false): void {
    if (this.closed) {
      // Already drained and closed, or failed: only streams still owed an end remain (none, normally).
      return
    }
    this.closed = true
    if (graceful && !this.socket.destroyed) {
      const socket = this.socket
      socket.end()
      socket.unref()
      const timer = setTimeout(() => socket.destroy(), GRACEFUL_CLOSE_MS)
      timer.unref()
      socket.once('close', () => clearTimeout(timer))
    } else {
      this.socket.destroy()
    }
    const streams = [...this.streams.values(), ...this.waiting.splice(0)]
    this.streams.clear()
    this.blocked.clear()
    for (const stream of streams) {
      stream.open = false
      this.deliver(stream, {type: 'end', end: {type: 'failed', failure}})
    }
    this.onClose?.()
  }
}

const EMPTY = Buffer.alloc(0)

function protocolError(message: string): Http2ProtocolError {
  return new Http2ProtocolError(ErrorCode.PROTOCOL_ERROR, message)
}

function frameSizeError(what: string): Http2ProtocolError {
  return new Http2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, `${what} frame of the wrong size`)
}
