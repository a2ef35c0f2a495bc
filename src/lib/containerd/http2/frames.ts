/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-byte header, the frame types and flags a gRPC client meets, encoders
 * for the frames it sends, and a parser that cuts a byte stream into frames. Only what ctr's client needs:
 * no server-side frames are ever written (PUSH_PROMISE is refused, we disable push).
 */

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const Flag = {
  END_STREAM: 0x1,
  /** SETTINGS and PING acknowledgements reuse bit 0. */
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
export const FRAME_HEADER_BYTES = 9
/** The smallest MAX_FRAME_SIZE, which every peer must accept until told otherwise. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215
export const DEFAULT_WINDOW_SIZE = 65_535
export const MAX_WINDOW_SIZE = 2 ** 31 - 1

export interface Frame {
  type: number
  flags: number
  streamId: number
  payload: Buffer
}

/** A violation of the protocol by the peer: a connection error with this HTTP/2 error code (RFC 9113 §5.4.1). */
export class Http2ProtocolError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'Http2ProtocolError'
  }
}

export function writeFrameHeader(out: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): void {
  out[offset] = (length >>> 16) & 0xff
  out[offset + 1] = (length >>> 8) & 0xff
  out[offset + 2] = length & 0xff
  out[offset + 3] = type
  out[offset + 4] = flags
  out.writeUInt32BE(streamId & 0x7fffffff, offset + 5)
}

export function encodeFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload ? payload.length : 0
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length)
  writeFrameHeader(out, 0, length, type, flags, streamId)
  if (payload) out.set(payload, FRAME_HEADER_BYTES)
  return out
}

export function encodeSettings(settings: Array<[id: number, value: number]>): Buffer {
  const payload = Buffer.allocUnsafe(6 * settings.length)
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i)
    payload.writeUInt32BE(value, 6 * i + 2)
  })
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload)
}

export function encodeWindowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4)
  payload.writeUInt32BE(increment & 0x7fffffff, 0)
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload)
}

export function encodeRstStream(streamId: number, errorCode: number): Buffer {
  const payload = Buffer.allocUnsafe(4)
  payload.writeUInt32BE(errorCode, 0)
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload)
}

export function encodeGoaway(lastStreamId: number, errorCode: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8')
  const payload = Buffer.allocUnsafe(8 + text.length)
  payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0)
  payload.writeUInt32BE(errorCode, 4)
  text.copy(payload, 8)
  return encodeFrame(FrameType.GOAWAY, 0, 0, payload)
}

/**
 * A HEADERS frame carrying `block`, followed by CONTINUATION frames when the block is larger than the peer's
 * MAX_FRAME_SIZE (a header block must arrive as one uninterrupted run of frames).
 */
export function encodeHeaders(streamId: number, block: Buffer, endStream: boolean, maxFrameSize: number): Buffer[] {
  const out: Buffer[] = []
  let offset = 0
  do {
    const length = Math.min(maxFrameSize, block.length - offset)
    const first = offset === 0
    const last = offset + length >= block.length
    const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0)
    out.push(encodeFrame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, block.subarray(offset, offset + length)))
    offset += length
  } while (offset < block.length)
  return out
}

/**
 * The payload of a DATA or HEADERS frame without its padding (PADDED) and, for HEADERS, its priority fields
 * (PRIORITY), which a client has no use for. Padding longer than the frame is a PROTOCOL_ERROR (§6.1).
 */
export function framePayload(frame: Frame): Buffer {
  let payload = frame.payload
  if (frame.flags & Flag.PADDED) {
    if (payload.length < 1) throw new Http2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without a pad length')
    const padLength = payload[0]
    payload = payload.subarray(1)
    if (padLength > payload.length) throw new Http2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame')
    payload = payload.subarray(0, payload.length - padLength)
  }
  if (frame.type === FrameType.HEADERS && frame.flags & Flag.PRIORITY) {
    if (payload.length < 5) throw new Http2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its priority fields')
    payload = payload.subarray(5)
  }
  return payload
}

/**
 * Cuts the received byte stream into frames. Socket reads split and join frames arbitrarily; at most one
 * partial frame is kept between reads.
 */
export class FrameParser {
  private buffer: Buffer = Buffer.alloc(0)

  /** `maxFrameSize` is the MAX_FRAME_SIZE we announced: a larger frame is a FRAME_SIZE_ERROR (§4.2). */
  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const frames: Frame[] = []
    let offset = 0
    while (this.buffer.length - offset >= FRAME_HEADER_BYTES) {
      const b = this.buffer
      const length = (b[offset] << 16) | (b[offset + 1] << 8) | b[offset + 2]
      if (length > this.maxFrameSize) {
        this.buffer = Buffer.alloc(0)
        throw new Http2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds the maximum of ${this.maxFrameSize}`)
      }
      if (b.length - offset < FRAME_HEADER_BYTES + length) break
      frames.push({
        type: b[offset + 3],
        flags: b[offset + 4],
        streamId: b.readUInt32BE(offset + 5) & 0x7fffffff,
        payload: b.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length),
      })
      offset += FRAME_HEADER_BYTES + length
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset)
    return frames
  }
}
