/**
 * The HTTP/2 client against a scripted raw peer on a unix socket: the tests write the server's frames byte by
 * byte (PADDED, PRIORITY, CONTINUATION, PING, SETTINGS, WINDOW_UPDATE, GOAWAY, RST_STREAM, broken frames)
 * and check what the client writes back and what the gRPC calls report. grpc-js as a peer is in
 * test/lib/transport.test.ts; the real containerd in the integration tests.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import * as net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {Http2Connection, StreamEnd} from '../../../../src/lib/containerd/http2/connection'
import {Flag, Frame, FrameParser, FrameType, PREFACE} from '../../../../src/lib/containerd/http2/frames'
import {HeaderField, HpackDecoder} from '../../../../src/lib/containerd/http2/hpack'
import {frame as grpcFrame, GrpcStatusError, Http2Transport, Status} from '../../../../src/lib/containerd/transport'
import {failure} from '../../../helpers/grpc-failure'

// -- a raw HTTP/2 peer ---------------------------------------------------------------------------------------

function rawFrame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.length, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(streamId, 5)
  return Buffer.concat([header, payload])
}

/** HPACK literal without indexing, new name, raw strings (lengths under 127). */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)])
}

const STATUS_200 = Buffer.from([0x88]) // indexed :status 200
const responseHeaders = Buffer.concat([STATUS_200, literal('content-type', 'application/grpc')])
const okTrailers = literal('grpc-status', '0')

function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length)
  values.forEach((v, i) => out.writeUInt32BE(v, 4 * i))
  return out
}

function settings(...pairs: Array<[number, number]>): Buffer {
  const payload = Buffer.alloc(6 * pairs.length)
  pairs.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i)
    payload.writeUInt32BE(value, 6 * i + 2)
  })
  return rawFrame(FrameType.SETTINGS, 0, 0, payload)
}

class Peer {
  readonly frames: Frame[] = []
  readonly chunks: Buffer[] = []
  readonly decoder = new HpackDecoder()
  /** Request headers by stream. */
  readonly headers = new Map<number, HeaderField[]>()
  ended = false
  private readonly taken = new Set<Frame>()
  private readonly listeners: Array<() => void> = []

  constructor(readonly socket: net.Socket) {
    const parser = new FrameParser(1 << 24)
    let preface: Buffer | undefined = Buffer.alloc(0)
    let block: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      if (preface) {
        preface = Buffer.concat([preface, chunk])
        if (preface.length < PREFACE.length) return
        expect(preface.subarray(0, PREFACE.length)).toEqual(PREFACE)
        chunk = preface.subarray(PREFACE.length)
        preface = undefined
      }
      for (const f of parser.push(chunk)) {
        if (f.type === FrameType.HEADERS || f.type === FrameType.CONTINUATION) {
          block = f.type === FrameType.HEADERS ? f.payload : Buffer.concat([block, f.payload])
          if (f.flags & Flag.END_HEADERS) this.headers.set(f.streamId, this.decoder.decode(block))
        }
        this.frames.push(f)
      }
      for (const l of this.listeners.splice(0)) l()
    })
    socket.on('end', () => (this.ended = true))
    socket.on('close', () => {
      this.ended = true
      for (const l of this.listeners.splice(0)) l()
    })
    socket.on('error', () => {})
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames))
  }

  /** The next frame (not returned before) that matches. */
  async next(match: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.find((f) => !this.taken.has(f) && match(f))
      if (found) {
        this.taken.add(found)
        return found
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame')
      await new Promise<void>((resolve) => {
        this.listeners.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }

  /** Bytes of DATA the client sent on a stream so far. */
  dataBytes(streamId: number): number {
    return this.frames.filter((f) => f.type === FrameType.DATA && f.streamId === streamId).reduce((n, f) => n + f.payload.length, 0)
  }

  /** Answers a unary call with `message` and status OK. */
  answer(streamId: number, message: Buffer): void {
    this.send(
      rawFrame(FrameType.HEADERS, Flag.END_HEADERS, streamId, responseHeaders),
      rawFrame(FrameType.DATA, 0, streamId, grpcFrame(message)),
      rawFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId, okTrailers),
    )
  }
}

let dir: string
let counter = 0
const servers: net.Server[] = []
const transports: Http2Transport[] = []

/** A unix socket whose connections become Peers; the server's SETTINGS are sent at once unless told not to. */
async function listen(options: {settings?: Buffer | null} = {}): Promise<{socket: string; peers: Peer[]; nextPeer(): Promise<Peer>}> {
  const socket = join(dir, `p${++counter}.sock`)
  const peers: Peer[] = []
  const waiting: Array<(p: Peer) => void> = []
  const server = net.createServer((s) => {
    const peer = new Peer(s)
    if (options.settings !== null) s.write(options.settings ?? settings())
    peers.push(peer)
    waiting.shift()?.(peer)
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(socket, resolve))
  let taken = 0
  return {
    socket,
    peers,
    nextPeer: () => (peers.length > taken ? Promise.resolve(peers[taken++]) : new Promise<Peer>((resolve) => waiting.push((p) => (taken++, resolve(p))))),
  }
}

function transport(socket: string): Http2Transport {
  const t = new Http2Transport(socket)
  transports.push(t)
  return t
}

/** A transport whose first call (stream 1) is answered, so the server's SETTINGS are known to be applied. */
async function answeredOnce(serverSettings: Buffer): Promise<{t: Http2Transport; peer: Peer}> {
  const server = await listen({settings: serverSettings})
  const t = transport(server.socket)
  const first = t.unary('/pkg.Svc/M', Buffer.from('1'))
  const peer = await server.nextPeer()
  peer.answer(1, Buffer.from('1'))
  await first
  return {t, peer}
}

/** A connection whose server allows one stream at a time. */
const oneStreamAtATime = () => answeredOnce(settings([3, 1]))


const isType = (type: number, streamId?: number) => (f: Frame) => f.type === type && (streamId === undefined || f.streamId === streamId)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-h2-'))
})
afterEach(() => {
  for (const t of transports.splice(0)) t.close()
  for (const s of servers.splice(0)) s.close()
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

// -- tests ---------------------------------------------------------------------------------------------------

describe('HTTP/2 client: what it sends', () => {
  it('sends preface, SETTINGS, WINDOW_UPDATE, HEADERS and DATA of the first call in one write', async () => {
    const server = await listen()
    const call = transport(server.socket).unary('/pkg.Svc/Method', Buffer.from('hello'), {
      metadata: {'containerd-namespace': 'ns1'},
      timeoutMs: 5000,
    })
    const peer = await server.nextPeer()
    const data = await peer.next(isType(FrameType.DATA, 1))
    // All of it arrived in the first read: one write.
    const first = new FrameParser(1 << 24).push(peer.chunks[0].subarray(PREFACE.length))
    // (The SETTINGS ACK may follow in the same read.)
    expect(first.slice(0, 4).map((f) => [f.type, f.flags, f.streamId])).toEqual([
      [FrameType.SETTINGS, 0, 0],
      [FrameType.WINDOW_UPDATE, 0, 0],
      [FrameType.HEADERS, Flag.END_HEADERS, 1],
      [FrameType.DATA, Flag.END_STREAM, 1],
    ])
    expect(first[0].payload).toEqual(Buffer.from([0, 2, 0, 0, 0, 0, 0, 4, 0, 0x40, 0, 0])) // ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 4 MiB
    expect(first[1].payload.readUInt32BE(0)).toBe(16 * 1024 * 1024 - 65_535)
    expect(peer.headers.get(1)).toEqual([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/pkg.Svc/Method'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['user-agent', 'ctr-node-http2'],
      ['containerd-namespace', 'ns1'],
      ['grpc-timeout', '5000m'],
    ])
    expect(data.payload).toEqual(grpcFrame(Buffer.from('hello')))

    peer.answer(1, Buffer.from('world'))
    expect(Buffer.from(await call).toString()).toBe('world')
    await peer.next((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK)
  })

  it('splits a header block larger than the frame size into HEADERS and CONTINUATION', async () => {
    const server = await listen()
    const call = transport(server.socket).unary('/pkg.Svc/Method', Buffer.from('x'), {metadata: {'x-big': 'v'.repeat(20_000)}})
    const peer = await server.nextPeer()
    const headers = await peer.next(isType(FrameType.HEADERS, 1))
    const continuation = await peer.next(isType(FrameType.CONTINUATION, 1))
    expect(headers.flags & Flag.END_HEADERS).toBe(0)
    expect(continuation.flags & Flag.END_HEADERS).toBe(Flag.END_HEADERS)
    expect(headers.payload.length).toBe(16_384)
    const fields = new HpackDecoder().decode(Buffer.concat([headers.payload, continuation.payload]))
    expect(fields).toContainEqual(['x-big', 'v'.repeat(20_000)])
    peer.answer(1, Buffer.from('ok'))
    await call
  })

  it('holds a large request to the server windows and MAX_FRAME_SIZE, sending on as WINDOW_UPDATEs come', async () => {
    const server = await listen({settings: null})
    const request = Buffer.alloc(300_000, 9)
    const call = transport(server.socket).unary('/pkg.Svc/Big', request)
    const peer = await server.nextPeer()
    // No SETTINGS from the server yet: the defaults hold, 65535 bytes of window, 16 KiB frames.
    await vi.waitFor(() => expect(peer.dataBytes(1)).toBe(65_535))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(peer.dataBytes(1)).toBe(65_535)
    expect(Math.max(...peer.frames.filter(isType(FrameType.DATA)).map((f) => f.payload.length))).toBe(16_384)

    // Larger frames allowed, and 100000 more bytes on the connection but only 50000 on the stream.
    peer.send(settings([5, 32_768]), rawFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(100_000)), rawFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(50_000)))
    await vi.waitFor(() => expect(peer.dataBytes(1)).toBe(115_535))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(peer.dataBytes(1)).toBe(115_535)
    expect(peer.frames.some((f) => f.type === FrameType.DATA && f.payload.length > 16_384)).toBe(true)
    expect(peer.frames.every((f) => f.type !== FrameType.DATA || f.payload.length <= 32_768)).toBe(true)

    // The rest: now the connection window (165535) is the limit.
    peer.send(rawFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(1_000_000)))
    await vi.waitFor(() => expect(peer.dataBytes(1)).toBe(165_535))
    peer.send(rawFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(1_000_000)))
    const last = await peer.next((f) => f.type === FrameType.DATA && (f.flags & Flag.END_STREAM) !== 0)
    expect(last.streamId).toBe(1)
    expect(peer.dataBytes(1)).toBe(request.length + 5)
    const received = Buffer.concat(peer.frames.filter(isType(FrameType.DATA, 1)).map((f) => f.payload))
    expect(received.equals(grpcFrame(request))).toBe(true)
    peer.answer(1, Buffer.from('done'))
    expect(Buffer.from(await call).toString()).toBe('done')
  })

  it('applies a changed INITIAL_WINDOW_SIZE to streams', async () => {
    const {t, peer} = await answeredOnce(settings([4, 1000]))
    const second = t.unary('/pkg.Svc/M', Buffer.alloc(5000, 1))
    await vi.waitFor(() => expect(peer.dataBytes(3)).toBe(1000))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(peer.dataBytes(3)).toBe(1000)
    peer.send(rawFrame(FrameType.WINDOW_UPDATE, 0, 3, u32(10_000)))
    await vi.waitFor(() => expect(peer.dataBytes(3)).toBe(5005))
    peer.answer(3, Buffer.from('b'))
    await second
  })

  it('queues streams beyond the server MAX_CONCURRENT_STREAMS', async () => {
    const {t, peer} = await oneStreamAtATime()
    const a = t.unary('/pkg.Svc/M', Buffer.from('a'))
    const b = t.unary('/pkg.Svc/M', Buffer.from('b'))
    await peer.next(isType(FrameType.HEADERS, 3))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(peer.headers.has(5)).toBe(false)
    peer.answer(3, Buffer.from('A'))
    await peer.next(isType(FrameType.HEADERS, 5))
    peer.answer(5, Buffer.from('B'))
    expect([Buffer.from(await a).toString(), Buffer.from(await b).toString()]).toEqual(['A', 'B'])
  })
})

describe('HTTP/2 client: what it reads', () => {
  it('reads PADDED and PRIORITY HEADERS, CONTINUATION, PADDED DATA, a split message, and answers PING', async () => {
    const server = await listen()
    const call = transport(server.socket).unary('/pkg.Svc/M', Buffer.from('x'))
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    const padded = (payload: Buffer, pad: number) => Buffer.concat([Buffer.from([pad]), payload, Buffer.alloc(pad)])
    const message = grpcFrame(Buffer.from('a response in two DATA frames'))
    // HEADERS: PADDED + PRIORITY (5 bytes: dependency and weight), then the rest of the block in CONTINUATION.
    const headersPayload = Buffer.concat([Buffer.from([3]), u32(0), Buffer.from([15]), responseHeaders.subarray(0, 2), Buffer.alloc(3)])
    peer.send(
      rawFrame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, headersPayload),
      rawFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, responseHeaders.subarray(2)),
      rawFrame(FrameType.PING, 0, 0, Buffer.from('pingpong')),
      rawFrame(FrameType.DATA, Flag.PADDED, 1, padded(message.subarray(0, 10), 7)),
      rawFrame(0xfa, 0, 0, Buffer.from('unknown frame types are ignored')),
      rawFrame(FrameType.PRIORITY, 0, 1, Buffer.alloc(5)),
      rawFrame(FrameType.DATA, Flag.PADDED, 1, padded(message.subarray(10), 0)),
      rawFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM | Flag.PADDED, 1, padded(okTrailers, 4)),
    )
    expect(Buffer.from(await call).toString()).toBe('a response in two DATA frames')
    const pong = await peer.next((f) => f.type === FrameType.PING)
    expect(pong.flags).toBe(Flag.ACK)
    expect(pong.payload.toString()).toBe('pingpong')
  })

  it('reads a Trailers-Only answer: the status and percent-decoded message in the only HEADERS', async () => {
    const server = await listen()
    const call = transport(server.socket).unary('/pkg.Svc/M', Buffer.from('x'))
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.HEADERS, 1))
    peer.send(
      rawFrame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        1,
        Buffer.concat([STATUS_200, literal('content-type', 'application/grpc'), literal('grpc-status', '5'), literal('grpc-message', 'not%20found')]),
      ),
    )
    const error = await failure(call)
    expect([error.code, error.details]).toEqual([5, 'not found'])
  })

  it('maps RST_STREAM codes to statuses', async () => {
    const server = await listen()
    const t = transport(server.socket)
    const expected: Array<[number, number, string]> = [
      [7, Status.UNAVAILABLE, 'Stream refused by server'],
      [8, Status.CANCELLED, 'Call cancelled'],
      [11, Status.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded'],
      [12, Status.PERMISSION_DENIED, 'Protocol not secure enough'],
      [2, Status.INTERNAL, 'Received RST_STREAM with code 2'],
    ]
    let peer: Peer | undefined
    let streamId = 1
    for (const [rst, code, details] of expected) {
      const call = t.unary('/pkg.Svc/M', Buffer.from('x'))
      peer ??= await server.nextPeer()
      await peer.next(isType(FrameType.HEADERS, streamId))
      peer.send(rawFrame(FrameType.RST_STREAM, 0, streamId, u32(rst)))
      const error = await failure(call)
      expect([error.code, error.details]).toEqual([code, details])
      streamId += 2
    }
  })

  it('a paused stream stops granting window, so the producer is held back; resuming grants it again, nothing lost', async () => {
    const server = await listen()
    const socket = net.connect({path: server.socket})
    const connection = new Http2Connection(socket, {streamWindowBytes: 256 * 1024, connectionWindowBytes: 16 * 1024 * 1024})
    const received: Buffer[] = []
    let end: StreamEnd | undefined
    const stream = connection.request([[':method', 'POST']], Buffer.from('go'), {
      onHeaders: () => {},
      onData: (data) => received.push(data),
      onEnd: (e) => (end = e),
    })
    stream.pause()
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    // The producer sends the whole stream window (256 KiB) in 16 KiB frames.
    peer.send(rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, responseHeaders))
    for (let i = 0; i < 16; i++) peer.send(rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_384, i)))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(received).toEqual([]) // paused: nothing delivered
    expect(peer.frames.some(isType(FrameType.WINDOW_UPDATE, 1))).toBe(false) // and no window granted back
    stream.resume()
    const update = await peer.next(isType(FrameType.WINDOW_UPDATE, 1))
    expect(update.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(64 * 1024)
    peer.send(rawFrame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('end')))
    await vi.waitFor(() => expect(end).toEqual({type: 'end'}))
    const all = Buffer.concat(received)
    expect(all.length).toBe(16 * 16_384 + 3)
    for (let i = 0; i < 16; i++) expect(all[i * 16_384]).toBe(i)
    connection.close()
  })

  it('returns connection window as data arrives, even for a stream we cancelled', async () => {
    const server = await listen()
    const socket = net.connect({path: server.socket})
    const connection = new Http2Connection(socket, {streamWindowBytes: 4 * 1024 * 1024, connectionWindowBytes: 1024 * 1024})
    const stream = connection.request([[':method', 'POST']], Buffer.from('go'), {onHeaders: () => {}, onData: () => {}, onEnd: () => {}})
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    stream.cancel()
    const rst = await peer.next(isType(FrameType.RST_STREAM, 1))
    expect(rst.payload.readUInt32BE(0)).toBe(8) // CANCEL
    // Frames in flight after the reset still count against the connection window, and are granted back.
    for (let i = 0; i < 20; i++) peer.send(rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(16_384)))
    const update = await peer.next(isType(FrameType.WINDOW_UPDATE, 0))
    expect(update.payload.readUInt32BE(0)).toBeGreaterThanOrEqual(256 * 1024)
    connection.close()
  })
})

describe('HTTP/2 client: connection life', () => {
  it('GOAWAY: streams above last-stream-id fail UNAVAILABLE, those below finish, new calls open a new connection', async () => {
    const server = await listen()
    const t = transport(server.socket)
    const one = t.unary('/pkg.Svc/M', Buffer.from('1'))
    const three = t.unary('/pkg.Svc/M', Buffer.from('3'))
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.HEADERS, 3))
    peer.send(rawFrame(FrameType.GOAWAY, 0, 0, u32(1, 0)))
    const error = await failure(three)
    expect(error.code).toBe(Status.UNAVAILABLE)
    // A new call goes to a new connection while stream 1 is still running on the old one.
    const after = t.unary('/pkg.Svc/M', Buffer.from('new'))
    const second = await server.nextPeer()
    await second.next(isType(FrameType.HEADERS, 1))
    second.answer(1, Buffer.from('new'))
    expect(Buffer.from(await after).toString()).toBe('new')
    peer.answer(1, Buffer.from('1'))
    expect(Buffer.from(await one).toString()).toBe('1')
    // The old connection closes once its last stream is done.
    await vi.waitFor(() => expect(peer.ended).toBe(true))
  })

  it.each([
    ['a bad HPACK index', () => rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xff, 0x10]))],
    ['DATA on stream 0', () => rawFrame(FrameType.DATA, 0, 0, Buffer.from('x'))],
    ['HEADERS on a stream never opened', () => rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 9, STATUS_200)],
    ['a frame larger than our MAX_FRAME_SIZE', () => rawFrame(FrameType.DATA, 0, 1, Buffer.alloc(20_000))],
    ['padding longer than the frame', () => rawFrame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([9, 1, 2]))],
    ['CONTINUATION without HEADERS', () => rawFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, STATUS_200)],
    ['a SETTINGS ACK with a payload', () => rawFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6))],
  ])('a protocol error (%s) fails the call with INTERNAL and closes the connection with GOAWAY', async (_name, bad) => {
    const server = await listen()
    const t = transport(server.socket)
    const call = t.unary('/pkg.Svc/M', Buffer.from('x'))
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    peer.send(bad())
    const error = await failure(call)
    expect(error.code).toBe(Status.INTERNAL)
    expect(error.details).toMatch(/protocol error/)
    await peer.next(isType(FrameType.GOAWAY))
    await vi.waitFor(() => expect(peer.ended).toBe(true))
    // The next call connects again.
    const again = t.unary('/pkg.Svc/M', Buffer.from('y'))
    const second = await server.nextPeer()
    await second.next(isType(FrameType.DATA, 1))
    second.answer(1, Buffer.from('y'))
    expect(Buffer.from(await again).toString()).toBe('y')
  })

  it('a protocol error: the GOAWAY still reaches the server when it sits behind unsent bytes', async () => {
    // Windows large enough that a 4 MiB request goes out at once; the peer reads nothing for now, so most of
    // it waits in the client's socket buffer, and the GOAWAY is queued behind it.
    const server = await listen({settings: Buffer.concat([settings([4, 0x7fffffff]), rawFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65_535))])})
    const socket = net.connect({path: server.socket})
    const connection = new Http2Connection(socket)
    let end: StreamEnd | undefined
    connection.request([[':method', 'POST']], Buffer.alloc(4 * 1024 * 1024, 1), {onHeaders: () => {}, onData: () => {}, onEnd: (e) => (end = e)})
    const peer = await server.nextPeer()
    peer.socket.pause()
    await vi.waitFor(() => expect(socket.writableLength).toBeGreaterThan(0))
    peer.send(rawFrame(FrameType.DATA, 0, 0, Buffer.from('x')))
    // The stream fails at once, without waiting for the socket.
    await vi.waitFor(() => expect(end?.type).toBe('failed'))
    peer.socket.resume()
    const goaway = await peer.next(isType(FrameType.GOAWAY))
    expect(goaway.payload.readUInt32BE(4)).toBe(1) // PROTOCOL_ERROR
    expect(peer.dataBytes(1)).toBe(4 * 1024 * 1024) // every byte queued before it, then the GOAWAY
    await vi.waitFor(() => expect(peer.ended).toBe(true))
  })

  it.each([
    ['DATA', () => rawFrame(FrameType.DATA, 0, 5, grpcFrame(Buffer.from('x')))],
    ['HEADERS', () => rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 5, responseHeaders)],
    ['WINDOW_UPDATE', () => rawFrame(FrameType.WINDOW_UPDATE, 0, 5, u32(1000))],
    ['RST_STREAM', () => rawFrame(FrameType.RST_STREAM, 0, 5, u32(8))],
  ])('%s on a stream still queued behind MAX_CONCURRENT_STREAMS (idle, §5.1) is a connection PROTOCOL_ERROR', async (_name, bad) => {
    const {t, peer} = await oneStreamAtATime()
    const three = t.unary('/pkg.Svc/M', Buffer.from('3'))
    const five = t.unary('/pkg.Svc/M', Buffer.from('5'))
    const errors = Promise.all([failure(three), failure(five)])
    await peer.next(isType(FrameType.DATA, 3))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(peer.headers.has(5)).toBe(false) // stream 5 is allocated, not opened
    peer.send(bad())
    const goaway = await peer.next(isType(FrameType.GOAWAY))
    expect(goaway.payload.readUInt32BE(4)).toBe(1) // PROTOCOL_ERROR
    expect((await errors).map((e) => e.code)).toEqual([Status.INTERNAL, Status.INTERNAL])
    expect(peer.headers.has(5)).toBe(false)
  })

  it('a frame on a stream ID we allocated, cancelled while queued and never opened, is a connection PROTOCOL_ERROR', async () => {
    const {t, peer} = await oneStreamAtATime()
    const three = failure(t.unary('/pkg.Svc/M', Buffer.from('3')))
    const controller = new AbortController()
    const five = t.unary('/pkg.Svc/M', Buffer.from('5'), {signal: controller.signal})
    await peer.next(isType(FrameType.DATA, 3))
    controller.abort()
    expect((await failure(five)).code).toBe(Status.CANCELLED)
    peer.send(rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 5, responseHeaders))
    const goaway = await peer.next(isType(FrameType.GOAWAY))
    expect(goaway.payload.readUInt32BE(4)).toBe(1)
    expect((await three).code).toBe(Status.INTERNAL)
  })

  it('an abort of a call still queued behind MAX_CONCURRENT_STREAMS: CANCELLED at once, nothing sent, the next queued one opens', async () => {
    const {t, peer} = await oneStreamAtATime()
    const three = t.unary('/pkg.Svc/M', Buffer.from('3'))
    const controller = new AbortController()
    const five = t.unary('/pkg.Svc/M', Buffer.from('5'), {signal: controller.signal})
    const seven = t.unary('/pkg.Svc/M', Buffer.from('7'))
    await peer.next(isType(FrameType.DATA, 3))
    controller.abort()
    const error = await failure(five)
    expect([error.code, error.details]).toEqual([Status.CANCELLED, 'Cancelled on client'])
    peer.answer(3, Buffer.from('three'))
    expect(Buffer.from(await three).toString()).toBe('three')
    await peer.next(isType(FrameType.DATA, 7))
    peer.answer(7, Buffer.from('seven'))
    expect(Buffer.from(await seven).toString()).toBe('seven')
    expect(peer.frames.filter((f) => f.streamId === 5)).toEqual([]) // no HEADERS, DATA or RST_STREAM for it
  })

  it('a connection lost while a server stream is paused: the consumer gets every message received, then UNAVAILABLE', async () => {
    const server = await listen()
    const t = transport(server.socket)
    const stream = t.serverStream('/pkg.Svc/Watch', Buffer.from('go'))
    const first = stream.next()
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    // Far more than the transport queues before pausing the stream (64 messages), then the socket closes.
    const total = 300
    peer.send(
      rawFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, responseHeaders),
      ...Array.from({length: total}, (_, i) => rawFrame(FrameType.DATA, 0, 1, grpcFrame(Buffer.from(`m${i}`)))),
    )
    expect(Buffer.from((await first).value as Uint8Array).toString()).toBe('m0')
    await new Promise((resolve) => setTimeout(resolve, 100))
    peer.socket.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const seen = ['m0']
    let caught: unknown
    try {
      for await (const m of stream) seen.push(Buffer.from(m).toString())
    } catch (error) {
      caught = error
    }
    expect(seen).toEqual(Array.from({length: total}, (_, i) => `m${i}`))
    expect(caught).toBeInstanceOf(GrpcStatusError)
    expect([(caught as GrpcStatusError).code, (caught as GrpcStatusError).details]).toEqual([Status.UNAVAILABLE, 'Connection dropped'])
  })

  it('a server that closes the socket mid-call: UNAVAILABLE "Connection dropped"', async () => {
    const server = await listen()
    const call = transport(server.socket).unary('/pkg.Svc/M', Buffer.from('x'))
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    peer.socket.end()
    const error = await failure(call)
    expect([error.code, error.details]).toEqual([Status.UNAVAILABLE, 'Connection dropped'])
  })

  it('stops taking streams when stream IDs run out, and closes once the last one ends', async () => {
    const server = await listen()
    const connection = new Http2Connection(net.connect({path: server.socket}), {maxStreamId: 3})
    const ends: StreamEnd[] = []
    const handlers = {onHeaders: () => {}, onData: () => {}, onEnd: (e: StreamEnd) => ends.push(e)}
    connection.request([[':method', 'POST']], Buffer.from('a'), handlers)
    expect(connection.usable).toBe(true)
    connection.request([[':method', 'POST']], Buffer.from('b'), handlers)
    expect(connection.usable).toBe(false)
    expect(() => connection.request([[':method', 'POST']], Buffer.from('c'), handlers)).toThrow(/not usable/)
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 3))
    peer.answer(1, Buffer.from('1'))
    peer.answer(3, Buffer.from('3'))
    await vi.waitFor(() => expect(ends).toEqual([{type: 'end'}, {type: 'end'}]))
    await vi.waitFor(() => expect(peer.ended).toBe(true))
  })

  it('refs the socket only while calls are active', async () => {
    const server = await listen()
    const socket = net.connect({path: server.socket})
    const hasRef = () => (socket as unknown as {_handle: {hasRef(): boolean}})._handle.hasRef()
    const connection = new Http2Connection(socket)
    await new Promise((resolve) => socket.once('connect', resolve))
    expect(hasRef()).toBe(false)
    let ended = false
    connection.request([[':method', 'POST']], Buffer.from('a'), {onHeaders: () => {}, onData: () => {}, onEnd: () => (ended = true)})
    expect(hasRef()).toBe(true)
    const peer = await server.nextPeer()
    await peer.next(isType(FrameType.DATA, 1))
    peer.answer(1, Buffer.from('1'))
    await vi.waitFor(() => expect(ended).toBe(true))
    expect(hasRef()).toBe(false)
    connection.close()
  })
})
