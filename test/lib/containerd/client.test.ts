/**
 * ContainerdClient (on @grpc/grpc-js) against a real gRPC server: grpc-js in process, on a temporary unix
 * socket, with a raw-bytes service of all four call shapes so the tests control every message, status and
 * timing; and against listeners that are not gRPC servers at all.
 */
import * as grpc from '@grpc/grpc-js'
import {spawn, spawnSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import * as net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'

import {VersionDefinition} from '../../../src/gen/containerd/services/version/v1/version'
import {ContainerdClient, type MessageType} from '../../../src/lib/containerd/client'
import {CtrError} from '../../../src/lib/containerd/errors'

// -- a raw-bytes test service, as ts-proto would define it -------------------------------------------------

interface Raw {
  data: Buffer
}
const RawMessage: MessageType<Raw> = {
  encode: (message) => ({finish: () => message.data}),
  decode: (input) => ({data: Buffer.from(input)}),
  fromPartial: (object: Partial<Raw>) => ({data: object.data ?? Buffer.alloc(0)}),
}
const method = <Q extends boolean, S extends boolean>(name: string, requestStream: Q, responseStream: S) =>
  ({name, requestType: RawMessage, responseType: RawMessage, requestStream, responseStream}) as const
const TestDefinition = {
  name: 'Test',
  fullName: 'test.Test',
  methods: {
    unary: method('Unary', false, false),
    stream: method('Stream', false, true),
    upload: method('Upload', true, false),
    chat: method('Chat', true, true),
  },
} as const

const bytes = {serialize: (value: Buffer) => value, deserialize: (value: Buffer) => value}
const serverMethod = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Test/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
})

interface TestServer {
  socket: string
  server: grpc.Server
  onUnary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void
  onStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => void
  onUpload: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => void
  onChat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => void
}

let dir: string
let counter = 0

async function startServer(socket = join(dir, `s${++counter}.sock`)): Promise<TestServer> {
  const server = new grpc.Server({'grpc.max_receive_message_length': 16 << 20, 'grpc.max_send_message_length': 16 << 20})
  const state: TestServer = {
    socket,
    server,
    onUnary: (call, callback) => callback(null, call.request),
    onStream: (call) => call.end(),
    onUpload: (_call, callback) => callback(null, Buffer.alloc(0)),
    onChat: (call) => call.end(),
  }
  const service = {
    unary: serverMethod('Unary', false, false),
    stream: serverMethod('Stream', false, true),
    upload: serverMethod('Upload', true, false),
    chat: serverMethod('Chat', true, true),
    version: {...serverMethod('Version', false, false), path: '/containerd.services.version.v1.Version/Version'},
  }
  server.addService(service as unknown as grpc.ServiceDefinition, {
    unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => state.onUnary(call, callback),
    stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => state.onStream(call),
    upload: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => state.onUpload(call, callback),
    chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => state.onChat(call),
    version: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) =>
      // VersionResponse{version: "9.9.9", revision: "abc"}: fields 1 and 2, length-delimited.
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

async function failure(promise: Promise<unknown>): Promise<CtrError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(CtrError)
  return error as CtrError
}

async function collect(iterable: AsyncIterable<Raw>): Promise<string[]> {
  const out: string[] = []
  for await (const message of iterable) out.push(message.data.toString())
  return out
}

const raw = (text: string): Raw => ({data: Buffer.from(text)})

let srv: TestServer
const clients: ContainerdClient[] = []
function client(options: {socket?: string; namespace?: string; timeoutMs?: number; signal?: AbortSignal} = {}) {
  const c = new ContainerdClient({address: options.socket ?? srv.socket, namespace: options.namespace ?? 'ns1', ...options})
  clients.push(c)
  return c
}
const test = (c = client()) => c.service(TestDefinition)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-client-'))
  srv = await startServer()
})
afterEach(() => {
  for (const c of clients.splice(0)) c.close()
  srv.onUnary = (call, callback) => callback(null, call.request)
  srv.onStream = (call) => call.end()
  srv.onUpload = (_call, callback) => callback(null, Buffer.alloc(0))
  srv.onChat = (call) => call.end()
})
afterAll(async () => {
  srv.server.forceShutdown()
  await rm(dir, {recursive: true, force: true})
})

describe('unary calls', () => {
  it('sends the request with the namespace header and returns the decoded response', async () => {
    let namespace: grpc.MetadataValue[] = []
    srv.onUnary = (call, callback) => {
      namespace = call.metadata.get('containerd-namespace')
      callback(null, Buffer.concat([Buffer.from('echo:'), call.request]))
    }
    const response = await test(client({namespace: 'k8s.io'})).unary(raw('hi'))
    expect(response.data.toString()).toBe('echo:hi')
    expect(namespace).toEqual(['k8s.io'])
  })

  it('adds per-call metadata (a lease) beside the namespace', async () => {
    let seen: Record<string, unknown> = {}
    srv.onUnary = (call, callback) => {
      seen = call.metadata.getMap()
      callback(null, Buffer.alloc(0))
    }
    await test().unary(raw(''), {metadata: {'containerd-lease': 'lease-1'}})
    expect(seen).toMatchObject({'containerd-namespace': 'ns1', 'containerd-lease': 'lease-1'})
  })

  it('carries a message of several MiB (above grpc-js default 4 MiB limit)', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024, 7)
    const response = await test().unary({data: big})
    expect(response.data.equals(big)).toBe(true)
  })

  it('turns a status into a CtrError with containerd text kept', async () => {
    srv.onUnary = (_call, callback) => callback(statusError(grpc.status.NOT_FOUND, 'container "x" in namespace "n": not found'))
    const error = await failure(test().unary(raw('')))
    expect(error.kind).toBe('not-found')
    expect(error.message).toBe('container "x" not found in namespace "n"')
  })

  it('reports a method the server does not have as unimplemented', async () => {
    const error = await failure(
      client()
        .service({...TestDefinition, fullName: 'test.Missing'})
        .unary(raw('')),
    )
    expect(error.kind).toBe('unimplemented')
  })

  it('enforces the deadline and names it', async () => {
    let cancelled = false
    srv.onUnary = (call) => call.on('cancelled', () => (cancelled = true))
    const started = Date.now()
    const error = await failure(test(client({timeoutMs: 150})).unary(raw('')))
    expect(error.kind).toBe('deadline-exceeded')
    expect(error.message).toMatch(/did not answer after 150ms/)
    expect(Date.now() - started).toBeLessThan(5000)
    await vi.waitFor(() => expect(cancelled).toBe(true), {timeout: 5000})
  })

  it('a per-call null timeout means no deadline (Tasks.Wait)', async () => {
    srv.onUnary = (call, callback) => setTimeout(() => callback(null, call.request), 300)
    const response = await test(client({timeoutMs: 100})).unary(raw('late'), {timeoutMs: null})
    expect(response.data.toString()).toBe('late')
  })

  it('cancels on abort, on the server too', async () => {
    let cancelled = false
    srv.onUnary = (call) => call.on('cancelled', () => (cancelled = true))
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const error = await failure(test().unary(raw(''), {signal: controller.signal}))
    expect(error.kind).toBe('cancelled')
    await vi.waitFor(() => expect(cancelled).toBe(true), {timeout: 5000})
  })

  it('fails at once with cancelled when the client signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await failure(test(client({signal: controller.signal})).unary(raw('')))
    expect(error.kind).toBe('cancelled')
  })

  it('close() ends calls under way with cancelled, promptly', async () => {
    srv.onUnary = () => undefined
    srv.onStream = () => undefined
    const c = client()
    const unary = failure(test(c).unary(raw(''), {timeoutMs: null}))
    const stream = failure(collect(test(c).stream(raw(''))))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const started = Date.now()
    c.close()
    expect((await unary).kind).toBe('cancelled')
    expect((await stream).kind).toBe('cancelled')
    expect(Date.now() - started).toBeLessThan(500)
  })
})

describe('connection failures: one line naming the socket and the cause', () => {
  it('a missing socket fails before grpc-js is asked', async () => {
    const socket = join(dir, 'missing.sock')
    const error = await failure(test(client({socket})).unary(raw('')))
    expect(error.kind).toBe('unavailable')
    expect(error.message).toBe(`cannot connect to containerd at ${socket}: no such file`)
  })

  it('a regular file is not a socket', async () => {
    const socket = join(dir, 'regular-file')
    await writeFile(socket, '')
    const error = await failure(test(client({socket})).unary(raw('')))
    expect(error.message).toBe(`cannot connect to containerd at ${socket}: not a socket`)
  })

  it('a stale socket nobody listens on (its daemon was killed): connection refused', async () => {
    const socket = join(dir, `stale-${++counter}.sock`)
    const listenThenDie = `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`
    spawnSync(process.execPath, ['-e', listenThenDie])
    const error = await failure(test(client({socket})).unary(raw('')))
    expect(error.message).toBe(`cannot connect to containerd at ${socket}: connection refused (is containerd running?)`)
  })

  it('a listener that does not speak HTTP/2 (an HTTP/1 daemon) is not a gRPC server', async () => {
    const socket = join(dir, `http1-${++counter}.sock`)
    const server = net.createServer((connection) => {
      connection.on('error', () => undefined)
      connection.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n400 Bad Request')
    })
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    try {
      const error = await failure(client({socket}).service(VersionDefinition).version({}))
      expect(error.kind).toBe('unavailable')
      expect(error.message).toBe(`cannot connect to containerd at ${socket}: not a gRPC server (it does not speak HTTP/2)`)
    } finally {
      server.close()
    }
  })

  it('a socket that accepts and never answers fails at the deadline', async () => {
    const socket = join(dir, `silent-${++counter}.sock`)
    const sockets: net.Socket[] = []
    const server = net.createServer((s) => sockets.push(s))
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    const started = Date.now()
    try {
      const error = await failure(client({socket, timeoutMs: 200}).service(VersionDefinition).version({}))
      expect(error.kind).toBe('deadline-exceeded')
      expect(error.message).toBe(`containerd at ${socket} did not answer after 200ms (raise call timeout, or 0 for none)`)
      expect(Date.now() - started).toBeLessThan(2000)
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  })

  it('a server that goes away: connection lost or refused; once it is back, the next call reconnects', async () => {
    const own = await startServer()
    const c = client({socket: own.socket})
    await test(c).unary(raw('1'))
    own.server.forceShutdown()
    const error = await failure(test(c).unary(raw('2')))
    expect(error.kind).toBe('unavailable')
    const again = await startServer(own.socket)
    try {
      await vi.waitFor(async () => expect((await test(c).unary(raw('3'))).data.toString()).toBe('3'), {timeout: 5000, interval: 100})
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
    expect(await collect(test().stream(raw('go')))).toEqual(Array.from({length: 200}, (_, i) => `m${i}`))
  })

  it('yields the messages before an error, then throws it converted', async () => {
    srv.onStream = (call) => {
      call.write(Buffer.from('a'))
      call.write(Buffer.from('b'))
      call.emit('error', statusError(grpc.status.INVALID_ARGUMENT, 'bad filter'))
    }
    const seen: string[] = []
    let caught: unknown
    try {
      for await (const m of test().stream(raw('go'))) seen.push(m.data.toString())
    } catch (error) {
      caught = error
    }
    expect(seen).toEqual(['a', 'b'])
    expect(caught).toBeInstanceOf(CtrError)
    expect((caught as CtrError).kind).toBe('invalid-argument')
    expect((caught as CtrError).message).toBe('bad filter')
  })

  it('breaking out of the loop cancels the call on the server', async () => {
    let serverSawCancel = false
    srv.onStream = (call) => {
      const timer = setInterval(() => call.write(Buffer.from('tick')), 5)
      call.on('cancelled', () => {
        serverSawCancel = true
        clearInterval(timer)
      })
    }
    let count = 0
    for await (const _ of test().stream(raw('go'))) if (++count === 3) break
    expect(count).toBe(3)
    await vi.waitFor(() => expect(serverSawCancel).toBe(true), {timeout: 5000})
  })

  it('an abort ends a quiet stream with cancelled', async () => {
    srv.onStream = () => undefined // subscribed, no events
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const error = await failure(collect(test().stream(raw('go'), {signal: controller.signal})))
    expect(error.kind).toBe('cancelled')
  })

  it('a server killed mid-stream (SIGKILL, as a daemon dies) ends it with connection lost, quickly', async () => {
    const socket = join(dir, `killed-${++counter}.sock`)
    // A server in its own process, so that it can die as containerd does: no RST_STREAM, no GOAWAY.
    const script = `
      const grpc = require(${JSON.stringify(require.resolve('@grpc/grpc-js'))})
      const server = new grpc.Server()
      const raw = {serialize: (b) => b, deserialize: (b) => b}
      const stream = {path: '/test.Test/Stream', requestStream: false, responseStream: true,
        requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize}
      server.addService({stream}, {stream: (call) => call.write(Buffer.from('first'))})
      server.bindAsync('unix://${socket}', grpc.ServerCredentials.createInsecure(), () => process.stdout.write('ready\\n'))`
    const child = spawn(process.execPath, ['-e', script], {stdio: ['ignore', 'pipe', 'inherit']})
    await new Promise((resolve) => child.stdout.once('data', resolve))
    const seen: string[] = []
    let caught: unknown
    let killedAt = 0
    try {
      for await (const m of test(client({socket})).stream(raw('go'))) {
        seen.push(m.data.toString())
        killedAt = Date.now()
        child.kill('SIGKILL')
      }
    } catch (error) {
      caught = error
    }
    expect(seen).toEqual(['first'])
    expect((caught as CtrError).kind).toBe('unavailable')
    expect((caught as CtrError).message).toBe(`cannot connect to containerd at ${socket}: connection lost`)
    expect(Date.now() - killedAt).toBeLessThan(2000)
  })

  it('a server that shuts down mid-stream (RST_STREAM) is connection lost too, not an interrupt', async () => {
    const own = await startServer()
    own.onStream = (call) => call.write(Buffer.from('first'))
    let caught: unknown
    try {
      for await (const _ of test(client({socket: own.socket})).stream(raw('go'))) own.server.forceShutdown()
    } catch (error) {
      caught = error
    }
    expect((caught as CtrError).kind).toBe('unavailable')
    expect((caught as CtrError).message).toMatch(/connection lost$/)
  })

  it('pauses a fast producer while the consumer is slow, and loses nothing', async () => {
    const total = 2000
    srv.onStream = (call) => {
      for (let i = 0; i < total; i++) call.write(Buffer.alloc(1024, i % 256))
      call.end()
    }
    let count = 0
    for await (const m of test().stream(raw('go'))) {
      expect(m.data[0]).toBe(count % 256)
      if (++count % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect(count).toBe(total)
  })
})

describe('client streaming', () => {
  it('sends every request of an async iterable, then returns the one response', async () => {
    srv.onUpload = (call, callback) => {
      const parts: Buffer[] = []
      call.on('data', (chunk: Buffer) => parts.push(chunk))
      call.on('end', () => callback(null, Buffer.from(`${parts.length}:${Buffer.concat(parts).length}`)))
    }
    async function* chunks() {
      for (let i = 0; i < 300; i++) yield {data: Buffer.alloc(64 * 1024, i % 256)}
    }
    const response = await test().upload(chunks())
    expect(response.data.toString()).toBe(`300:${300 * 64 * 1024}`)
  })

  it('takes a plain array and an empty one', async () => {
    srv.onUpload = (call, callback) => {
      let n = 0
      call.on('data', () => n++)
      call.on('end', () => callback(null, Buffer.from(String(n))))
    }
    expect((await test().upload([raw('a'), raw('b')])).data.toString()).toBe('2')
    expect((await test().upload([])).data.toString()).toBe('0')
  })

  it('a server error ends the call early and is converted', async () => {
    srv.onUpload = (call, callback) => call.once('data', () => callback(statusError(grpc.status.ALREADY_EXISTS, 'ref "x": already exists')))
    async function* endless() {
      for (;;) {
        yield raw('x')
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    }
    const error = await failure(test().upload(endless()))
    expect(error.kind).toBe('already-exists')
  })

  it('a failing request iterable cancels the call and its own error is reported', async () => {
    let cancelled = false
    srv.onUpload = (call) => {
      call.on('data', () => undefined)
      call.on('cancelled', () => (cancelled = true))
    }
    async function* broken() {
      yield raw('a')
      await new Promise((resolve) => setTimeout(resolve, 20))
      throw new Error('archive truncated')
    }
    const error = await test()
      .upload(broken())
      .catch((e: unknown) => e)
    expect((error as Error).message).toBe('archive truncated')
    await vi.waitFor(() => expect(cancelled).toBe(true), {timeout: 5000})
  })
})

describe('bidirectional streaming', () => {
  it('reads responses while it sends: each request may wait for the previous answer', async () => {
    srv.onChat = (call) => {
      call.on('data', (chunk: Buffer) => call.write(Buffer.from(`ack:${chunk.toString()}`)))
      call.on('end', () => call.end())
    }
    // A lock-step conversation, as Content.Write runs it: send, wait for its answer, send the next.
    const answers: string[] = []
    let answered: (() => void) | undefined
    async function* requests() {
      for (let i = 0; i < 5; i++) {
        const next = new Promise<void>((resolve) => (answered = resolve))
        yield raw(`r${i}`)
        await next
      }
    }
    for await (const response of test().chat(requests())) {
      answers.push(response.data.toString())
      answered?.()
    }
    expect(answers).toEqual(['ack:r0', 'ack:r1', 'ack:r2', 'ack:r3', 'ack:r4'])
  })

  it('a server error ends both directions and is converted', async () => {
    srv.onChat = (call) => {
      call.once('data', () => call.emit('error', statusError(grpc.status.FAILED_PRECONDITION, 'unexpected commit digest')))
    }
    const error = await failure(collect(test().chat([raw('a'), raw('b')])))
    expect(error.kind).toBe('failed-precondition')
    expect(error.message).toBe('unexpected commit digest')
  })

  it('an abort cancels it on the server', async () => {
    let cancelled = false
    srv.onChat = (call) => {
      call.on('data', () => undefined)
      call.on('cancelled', () => (cancelled = true))
    }
    const controller = new AbortController()
    async function* slow() {
      yield raw('a')
      await new Promise((resolve) => setTimeout(resolve, 10_000))
    }
    setTimeout(() => controller.abort(), 50)
    const error = await failure(collect(test().chat(slow(), {signal: controller.signal})))
    expect(error.kind).toBe('cancelled')
    await vi.waitFor(() => expect(cancelled).toBe(true), {timeout: 5000})
  })

  it('a failing request iterable cancels the call and its own error is reported', async () => {
    srv.onChat = (call) => call.on('data', (chunk: Buffer) => call.write(chunk))
    async function* broken() {
      yield raw('a')
      await new Promise((resolve) => setTimeout(resolve, 20))
      throw new Error('digest mismatch in blob sha256:abc')
    }
    const error = await collect(test().chat(broken())).catch((e: unknown) => e)
    expect((error as Error).message).toBe('digest mismatch in blob sha256:abc')
  })
})

describe('loading', () => {
  it('the library does not load grpc-js until the first call', () => {
    // A fresh process: this test file itself imports grpc-js for its server.
    const library = join(__dirname, '..', '..', '..', 'dist', 'index.js')
    const script = `
      const loaded = () => Object.keys(require.cache).some((file) => file.includes('@grpc/grpc-js'))
      const {ContainerdClient} = require(${JSON.stringify(library)})
      new ContainerdClient({address: '/nonexistent.sock'})
      process.stdout.write(JSON.stringify(loaded()))`
    expect(spawnSync(process.execPath, ['-e', script]).stdout.toString()).toBe('false')
  })
})
