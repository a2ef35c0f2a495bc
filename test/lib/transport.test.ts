/**
 * The node:http2 gRPC transport against a real gRPC server: grpc-js in process, on a temporary unix socket,
 * with a raw-bytes service so the tests control every message, status and timing.
 */
import * as grpc from '@grpc/grpc-js'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import * as net from 'node:net'
import netModule from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {ContainerdClient} from '../../src/lib/containerd/client'
import {CtrError} from '../../src/lib/containerd/errors'
import {
  decodeGrpcMessage,
  frame,
  FrameDecoder,
  GrpcStatusError,
  grpcTimeout,
  Http2Transport,
  Status,
} from '../../src/lib/containerd/transport'
import {VersionDefinition} from '../../src/gen/containerd/services/version/v1/version'
import {failure} from '../helpers/grpc-failure'

const bytes = {
  serialize: (value: Buffer) => value,
  deserialize: (value: Buffer) => value,
}
const method = (path: string, responseStream: boolean) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
})
const TestService = {
  unary: method('/test.Test/Unary', false),
  stream: method('/test.Test/Stream', true),
  version: method('/containerd.services.version.v1.Version/Version', false),
}

type UnaryHandler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void
type StreamHandler = (call: grpc.ServerWritableStream<Buffer, Buffer>) => void

interface TestServer {
  socket: string
  server: grpc.Server
  onUnary: UnaryHandler
  onStream: StreamHandler
  stop(): Promise<void>
}

let dir: string
let counter = 0

async function startServer(socket = join(dir, `s${++counter}.sock`)): Promise<TestServer> {
  const server = new grpc.Server()
  const state: TestServer = {
    socket,
    server,
    onUnary: (call, callback) => callback(null, call.request),
    onStream: (call) => call.end(),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  }
  server.addService(TestService as unknown as grpc.ServiceDefinition, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => state.onUnary(call, callback),
    stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => state.onStream(call),
    version: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      // VersionResponse{version: "9.9.9", revision: "abc"}: field 1 and 2, length-delimited.
      callback(null, Buffer.from([0x0a, 5, ...Buffer.from('9.9.9'), 0x12, 3, ...Buffer.from('abc')])),
  })
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  )
  return state
}

function statusError(code: number, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), {code, details, metadata: new grpc.Metadata()}) as grpc.ServiceError
}


async function collect(iterable: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = []
  for await (const message of iterable) out.push(Buffer.from(message).toString())
  return out
}

let srv: TestServer
const transports: Http2Transport[] = []
function transport(socket = srv.socket, maxMessageBytes?: number): Http2Transport {
  const t = new Http2Transport(socket, {maxMessageBytes})
  transports.push(t)
  return t
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-transport-'))
  srv = await startServer()
})
afterEach(() => {
  for (const t of transports.splice(0)) t.close()
  srv.onUnary = (call, callback) => callback(null, call.request)
  srv.onStream = (call) => call.end()
  vi.restoreAllMocks()
})
afterAll(async () => {
  srv.server.forceShutdown()
  await rm(dir, {recursive: true, force: true})
})

describe('unary calls', () => {
  it('sends the request and metadata and returns the response', async () => {
    let namespace: unknown
    srv.onUnary = (call, callback) => {
      namespace = call.metadata.get('containerd-namespace')[0]
      callback(null, Buffer.concat([Buffer.from('echo:'), call.request]))
    }
    const response = await transport().unary('/test.Test/Unary', Buffer.from('hi'), {metadata: {'containerd-namespace': 'ns1'}})
    expect(Buffer.from(response).toString()).toBe('echo:hi')
    expect(namespace).toBe('ns1')
  })

  it('carries empty messages both ways', async () => {
    srv.onUnary = (call, callback) => callback(null, Buffer.alloc(call.request.length))
    const response = await transport().unary('/test.Test/Unary', new Uint8Array(0))
    expect(response.length).toBe(0)
  })

  it('carries a message of several MiB split over many DATA frames', async () => {
    // 3 MiB: under grpc-js's own 4 MiB receive limit on the server side.
    const big = Buffer.alloc(3 * 1024 * 1024, 7)
    srv.onUnary = (call, callback) => callback(null, call.request)
    const response = await transport().unary('/test.Test/Unary', big)
    expect(Buffer.compare(Buffer.from(response), big)).toBe(0)
  })

  it('reports the status code and the percent-decoded grpc-message of an error', async () => {
    const details = 'container "wéb" in namespace "n": not found, 100% sure\nsecond line'
    srv.onUnary = (_call, callback) => callback(statusError(grpc.status.NOT_FOUND, details))
    const error = await failure(transport().unary('/test.Test/Unary', Buffer.from('x')))
    expect(error.code).toBe(grpc.status.NOT_FOUND)
    expect(error.details).toBe(details)
  })

  it('reports UNIMPLEMENTED for a method the server does not have', async () => {
    const error = await failure(transport().unary('/test.Test/Nope', Buffer.from('x')))
    expect(error.code).toBe(Status.UNIMPLEMENTED)
  })

  it('enforces the deadline locally, sends grpc-timeout, and cancels the call on the server', async () => {
    let timeoutHeader: unknown
    let serverSawCancel = false
    srv.onUnary = (call) => {
      timeoutHeader = call.getDeadline()
      call.on('cancelled', () => (serverSawCancel = true))
      // never answers
    }
    const started = Date.now()
    const error = await failure(transport().unary('/test.Test/Unary', Buffer.from('x'), {timeoutMs: 150}))
    const elapsed = Date.now() - started
    expect(error.code).toBe(Status.DEADLINE_EXCEEDED)
    expect(elapsed).toBeGreaterThanOrEqual(140)
    expect(elapsed).toBeLessThan(1500)
    expect(Number.isFinite(Number(timeoutHeader))).toBe(true) // the server got a deadline from grpc-timeout
    await vi.waitFor(() => expect(serverSawCancel).toBe(true))
  })

  it('times out against a socket that accepts and never answers', async () => {
    const silent = join(dir, 'silent.sock')
    const sockets: net.Socket[] = []
    const server = net.createServer((socket) => sockets.push(socket)) // accepts, says nothing
    await new Promise<void>((resolve) => server.listen(silent, resolve))
    try {
      const error = await failure(transport(silent).unary('/test.Test/Unary', Buffer.from('x'), {timeoutMs: 200}))
      expect(error.code).toBe(Status.DEADLINE_EXCEEDED)
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  })

  it('cancels on abort, on the server too', async () => {
    let serverSawCancel = false
    srv.onUnary = (call) => call.on('cancelled', () => (serverSawCancel = true))
    const controller = new AbortController()
    const call = transport().unary('/test.Test/Unary', Buffer.from('x'), {signal: controller.signal})
    setTimeout(() => controller.abort(), 50)
    const error = await failure(call)
    expect(error.code).toBe(Status.CANCELLED)
    await vi.waitFor(() => expect(serverSawCancel).toBe(true))
  })

  it('fails at once with CANCELLED when the signal is already aborted', async () => {
    const error = await failure(transport().unary('/test.Test/Unary', Buffer.from('x'), {signal: AbortSignal.abort()}))
    expect(error.code).toBe(Status.CANCELLED)
  })

  it('refuses a response larger than the limit with RESOURCE_EXHAUSTED', async () => {
    srv.onUnary = (_call, callback) => callback(null, Buffer.alloc(4096))
    const error = await failure(transport(srv.socket, 1024).unary('/test.Test/Unary', Buffer.from('x')))
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED)
  })

  it('refuses to send a request larger than the limit', async () => {
    const error = await failure(transport(srv.socket, 1024).unary('/test.Test/Unary', Buffer.alloc(2048)))
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED)
  })

  it('shares one connection between calls, also concurrent ones', async () => {
    // The module object the transport require()s, not the ESM namespace.
    const connect = vi.spyOn(netModule, 'connect')
    const t = transport()
    await Promise.all(Array.from({length: 8}, (_, i) => t.unary('/test.Test/Unary', Buffer.from(String(i)))))
    await t.unary('/test.Test/Unary', Buffer.from('again'))
    expect(connect).toHaveBeenCalledTimes(1)
  })

  it('fails pending calls with CANCELLED on close()', async () => {
    srv.onUnary = () => {}
    const t = transport()
    const call = t.unary('/test.Test/Unary', Buffer.from('x'))
    setTimeout(() => t.close(), 50)
    const error = await failure(call)
    expect(error.code).toBe(Status.CANCELLED)
  })
})

describe('close()', () => {
  it('ends a running unary call and a running server stream with CANCELLED "Channel closed", promptly', async () => {
    srv.onUnary = () => {} // never answers
    srv.onStream = (call) => call.write(Buffer.from('first')) // and then nothing
    const t = transport()
    const unary = t.unary('/test.Test/Unary', Buffer.from('x'))
    const stream = t.serverStream('/test.Test/Stream', Buffer.from('go'))
    expect(Buffer.from((await stream.next()).value as Uint8Array).toString()).toBe('first')
    const rest = stream.next()
    const started = Date.now()
    t.close()
    const unaryError = await failure(unary)
    const streamError = await failure(rest)
    expect(Date.now() - started).toBeLessThan(200)
    expect([unaryError.code, unaryError.details]).toEqual([Status.CANCELLED, 'Channel closed'])
    expect([streamError.code, streamError.details]).toEqual([Status.CANCELLED, 'Channel closed'])
  })
})

describe('connection failures are UNAVAILABLE with the errno text', () => {
  it('a missing socket: ENOENT', async () => {
    const error = await failure(transport(join(dir, 'missing.sock')).unary('/test.Test/Unary', Buffer.from('x')))
    expect(error.code).toBe(Status.UNAVAILABLE)
    expect(error.details).toMatch(/ENOENT/)
  })

  it('a path nobody listens on (a stale socket file, or a regular file): ECONNREFUSED', async () => {
    const file = join(dir, 'regular-file.sock')
    await writeFile(file, '')
    const error = await failure(transport(file).unary('/test.Test/Unary', Buffer.from('x')))
    expect(error.code).toBe(Status.UNAVAILABLE)
    expect(error.details).toMatch(/ECONNREFUSED/)
  })

  it('a socket whose server does not speak HTTP/2 (an HTTP/1 daemon): UNAVAILABLE, not a gRPC server', async () => {
    const socket = join(dir, `http1-${++counter}.sock`)
    const server = netModule.createServer((connection) => {
      connection.on('error', () => undefined)
      connection.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n400 Bad Request')
    })
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    try {
      const error = await failure(transport(socket).unary('/test.Test/Unary', Buffer.from('x')))
      expect(error.code).toBe(Status.UNAVAILABLE)
      expect(error.details).toMatch(/^not a gRPC server/)
      const client = new ContainerdClient({address: socket, namespace: 'default', timeoutMs: 5000})
      try {
        const ctrError = await client.service(VersionDefinition).version({}).catch((e: unknown) => e)
        expect(ctrError).toBeInstanceOf(CtrError)
        expect((ctrError as CtrError).message).toMatch(new RegExp(`^cannot connect to containerd at ${socket}: not a gRPC server`))
      } finally {
        client.close()
      }
    } finally {
      server.close()
    }
  })

  it('a server that goes away: UNAVAILABLE; after it is back, the next call reconnects', async () => {
    const own = await startServer()
    const t = transport(own.socket)
    await t.unary('/test.Test/Unary', Buffer.from('1'))
    own.server.forceShutdown()
    const error = await failure(t.unary('/test.Test/Unary', Buffer.from('2')))
    expect(error.code).toBe(Status.UNAVAILABLE)
    const again = await startServer(own.socket)
    try {
      const response = await t.unary('/test.Test/Unary', Buffer.from('3'))
      expect(Buffer.from(response).toString()).toBe('3')
    } finally {
      again.server.forceShutdown()
    }
  })
})

describe('server streaming', () => {
  it('yields every message in order, then ends', async () => {
    srv.onStream = (call) => {
      for (let i = 0; i < 200; i++) call.write(Buffer.from(`m${i}`))
      call.end()
    }
    const messages = await collect(transport().serverStream('/test.Test/Stream', Buffer.from('go')))
    expect(messages).toEqual(Array.from({length: 200}, (_, i) => `m${i}`))
  })

  it('yields the messages before an error, then throws its status', async () => {
    srv.onStream = (call) => {
      call.write(Buffer.from('a'))
      call.write(Buffer.from('b'))
      call.emit('error', statusError(grpc.status.FAILED_PRECONDITION, 'bad filter'))
    }
    const seen: string[] = []
    let caught: unknown
    try {
      for await (const m of transport().serverStream('/test.Test/Stream', Buffer.from('go'))) seen.push(Buffer.from(m).toString())
    } catch (error) {
      caught = error
    }
    expect(seen).toEqual(['a', 'b'])
    expect(caught).toBeInstanceOf(GrpcStatusError)
    expect((caught as GrpcStatusError).code).toBe(grpc.status.FAILED_PRECONDITION)
    expect((caught as GrpcStatusError).details).toBe('bad filter')
  })

  it('breaking out of the loop cancels the call on the server', async () => {
    let serverSawCancel = false
    srv.onStream = (call) => {
      call.on('cancelled', () => (serverSawCancel = true))
      const timer = setInterval(() => call.write(Buffer.from('tick')), 5)
      call.on('cancelled', () => clearInterval(timer))
    }
    let count = 0
    for await (const _ of transport().serverStream('/test.Test/Stream', Buffer.from('go'))) if (++count === 3) break
    expect(count).toBe(3)
    await vi.waitFor(() => expect(serverSawCancel).toBe(true))
  })

  it('an abort ends a quiet stream with CANCELLED', async () => {
    srv.onStream = () => {} // subscribed, no events
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const error = await collect(transport().serverStream('/test.Test/Stream', Buffer.from('go'), {signal: controller.signal})).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as GrpcStatusError).code).toBe(Status.CANCELLED)
  })

  it('a server killed mid-stream ends it with UNAVAILABLE, quickly', async () => {
    const own = await startServer()
    own.onStream = (call) => call.write(Buffer.from('first'))
    const seen: string[] = []
    const started = Date.now()
    let caught: unknown
    try {
      for await (const m of transport(own.socket).serverStream('/test.Test/Stream', Buffer.from('go'))) {
        seen.push(Buffer.from(m).toString())
        own.server.forceShutdown()
      }
    } catch (error) {
      caught = error
    }
    expect(seen).toEqual(['first'])
    expect((caught as GrpcStatusError).code).toBe(Status.UNAVAILABLE)
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('pauses a fast producer while the consumer is slow, and loses nothing', async () => {
    const total = 2000
    srv.onStream = (call) => {
      for (let i = 0; i < total; i++) call.write(Buffer.alloc(1024, i % 256))
      call.end()
    }
    let count = 0
    for await (const m of transport().serverStream('/test.Test/Stream', Buffer.from('go'))) {
      expect(m[0]).toBe(count % 256)
      if (++count % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect(count).toBe(total)
  })
})

describe('through ContainerdClient', () => {
  it('decodes typed responses and turns failures into CtrError with grpc-status semantics', async () => {
    const client = new ContainerdClient({address: srv.socket, namespace: 'n1', timeoutMs: 2000})
    try {
      const version = await client.service(VersionDefinition).version({})
      expect(version).toEqual({version: '9.9.9', revision: 'abc'})
    } finally {
      client.close()
    }
    const missing = new ContainerdClient({address: join(dir, 'nothing.sock')})
    const error = await missing.service(VersionDefinition).version({}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CtrError)
    expect((error as CtrError).kind).toBe('unavailable')
  })

  it('maps a deadline to deadline-exceeded naming the timeout', async () => {
    const silent = join(dir, 'silent2.sock')
    const sockets: net.Socket[] = []
    const server = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => server.listen(silent, resolve))
    const client = new ContainerdClient({address: silent, timeoutMs: 100})
    try {
      const error = await client.service(VersionDefinition).version({}).catch((e: unknown) => e)
      expect((error as CtrError).kind).toBe('deadline-exceeded')
      expect((error as CtrError).message).toMatch(/did not answer after 100ms/)
    } finally {
      client.close()
      for (const s of sockets) s.destroy()
      server.close()
    }
  })
})

describe('wire helpers', () => {
  it('frames and reassembles messages split and joined arbitrarily', () => {
    const messages = [Buffer.from('alpha'), Buffer.alloc(0), Buffer.alloc(70_000, 1), Buffer.from('z')]
    const wire = Buffer.concat(messages.map((m) => frame(m)))
    for (const size of [1, 3, 5, 7, 4096, wire.length]) {
      const decoder = new FrameDecoder(1 << 20)
      const out: Uint8Array[] = []
      for (let i = 0; i < wire.length; i += size) out.push(...decoder.push(wire.subarray(i, i + size)))
      expect(out.map((m) => Buffer.from(m).toString('hex'))).toEqual(messages.map((m) => m.toString('hex')))
      expect(decoder.pending()).toBe(false)
    }
  })

  it('rejects compressed and oversized frames', () => {
    expect(() => new FrameDecoder(10).push(Buffer.from([1, 0, 0, 0, 1, 0]))).toThrow(/compress/)
    expect(() => new FrameDecoder(10).push(Buffer.from([0, 0, 0, 0, 11]))).toThrow(/larger than max/)
  })

  it('writes grpc-timeout with at most 8 digits', () => {
    expect(grpcTimeout(1500)).toBe('1500m')
    expect(grpcTimeout(0.2)).toBe('1m')
    expect(grpcTimeout(99_999_999)).toBe('99999999m')
    expect(grpcTimeout(100_000_000)).toBe('100000S')
  })

  it('percent-decodes grpc-message, keeping malformed escapes', () => {
    expect(decodeGrpcMessage('a%20b%0Ac')).toBe('a b\nc')
    expect(decodeGrpcMessage('caf%C3%A9')).toBe('café')
    expect(decodeGrpcMessage('100%')).toBe('100%')
    expect(decodeGrpcMessage('bad %ZZ %41')).toBe('bad %ZZ A')
  })
})
