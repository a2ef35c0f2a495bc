/**
 * The registry client against a small in-process HTTP registry: Bearer challenges (token fetched from the
 * realm with the scope, with Basic credentials when given, then reused), Basic, and errors as one CtrError.
 */
import {createServer, type IncomingMessage, type RequestListener, type Server} from 'node:http'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {parseChallenge} from '../../../src/lib/registry/auth'
import {RegistryClient} from '../../../src/lib/registry/client'
import {parseReference} from '../../../src/lib/registry/reference'

let server: Server
let base = ''
const seen: Array<{url: string; authorization?: string}> = []

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    seen.push({url: req.url!, authorization: req.headers.authorization})
    if (req.url!.startsWith('/token')) {
      const basic = `Basic ${Buffer.from('u:p').toString('base64')}`
      if (req.headers.authorization && req.headers.authorization !== basic) return res.writeHead(401).end()
      return res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({token: 'tok-1'}))
    }
    if (req.headers.authorization !== 'Bearer tok-1') {
      return res.writeHead(401, {'www-authenticate': `Bearer realm="${base}/token",service="fake",scope="repository:a/b:pull"`}).end()
    }
    if (req.url === '/v2/a/b/manifests/1') return res.writeHead(200, {'content-type': 'application/vnd.oci.image.manifest.v1+json'}).end('{}')
    res.writeHead(404, {'content-type': 'application/json'}).end(JSON.stringify({errors: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown'}]}))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as {port: number}).port}`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const client = (credentials?: {username: string; password: string}) =>
  new RegistryClient({domain: base.slice(7), repository: 'a/b', plainHttp: true, credentials, actions: 'pull', timeoutMs: 5000})

describe('RegistryClient', () => {
  it('answers a Bearer challenge with a token for the scope, then reuses it', async () => {
    seen.length = 0
    const c = client()
    expect((await c.request('/manifests/1', {what: 'tag 1'})).status).toBe(200)
    expect((await c.request('/manifests/1', {what: 'tag 1'})).status).toBe(200)
    expect(seen.map((s) => s.url)).toEqual([
      '/v2/a/b/manifests/1',
      '/token?service=fake&scope=repository%3Aa%2Fb%3Apull',
      '/v2/a/b/manifests/1',
      '/v2/a/b/manifests/1',
    ])
    expect(seen[1].authorization).toBeUndefined()
  })

  it('sends Basic credentials to the token service; a refused one is unauthorized, without the password', async () => {
    seen.length = 0
    await client({username: 'u', password: 'p'}).request('/manifests/1', {what: 'tag 1'})
    expect(seen[1].authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`)
    const error = await client({username: 'u', password: 'secret-x'})
      .request('/manifests/1', {what: 'tag 1'})
      .catch((e) => e)
    expect(error.kind).toBe('permission-denied')
    expect(error.message).toMatch(/unauthorized/)
    expect(error.message).not.toContain('secret-x')
  })

  it('a 404 is not-found with the registry error', async () => {
    const error = await client()
      .request('/manifests/2', {what: 'tag 2'})
      .catch((e) => e)
    expect(error.kind).toBe('not-found')
    expect(error.message).toBe(`tag 2 not found in ${base.slice(7)}/a/b (MANIFEST_UNKNOWN: manifest unknown)`)
  })
})

describe('parseChallenge and parseReference', () => {
  it('reads quoted and bare parameters', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: 'bearer',
      params: {realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull'},
    })
    expect(parseChallenge('Basic realm=x')).toEqual({scheme: 'basic', params: {realm: 'x'}})
  })

  it('splits references with docker.io and library/ defaults', () => {
    expect(parseReference('busybox')).toEqual({name: 'docker.io/library/busybox:latest', domain: 'docker.io', repository: 'library/busybox', tag: 'latest'})
    expect(parseReference('127.0.0.1:5000/a/b:1')).toMatchObject({domain: '127.0.0.1:5000', repository: 'a/b', tag: '1'})
    const digest = `sha256:${'a'.repeat(64)}`
    expect(parseReference(`localhost:5000/x@${digest}`)).toMatchObject({domain: 'localhost:5000', repository: 'x', digest})
    expect(() => parseReference('Bad//Ref::')).toThrow(/invalid image reference/)
  })
})

describe('RegistryClient transport failures, by error code', () => {
  it('a body cut off mid-way is "the connection was closed"; https to an http registry says so', async () => {
    const cutting = createServer((_req, res) => {
      res.writeHead(200, {'content-length': '1000'})
      res.write(Buffer.alloc(10))
      setTimeout(() => res.socket?.destroy(), 20)
    })
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve))
    const domain = `127.0.0.1:${(cutting.address() as {port: number}).port}`
    try {
      const plain = new RegistryClient({domain, repository: 'a/b', plainHttp: true, actions: 'pull', timeoutMs: 5000})
      const response = await plain.request('/blobs/x', {what: 'layer x'})
      const read = async () => {
        for await (const chunk of plain.chunks(response, 'layer x')) void chunk
      }
      await expect(read()).rejects.toThrow(`registry ${domain}: the connection was closed (layer x)`)
      const tls = new RegistryClient({domain, repository: 'a/b', actions: 'pull', timeoutMs: 5000})
      await expect(tls.request('/blobs/x', {what: 'layer x'})).rejects.toThrow(
        `registry ${domain}: it does not speak https (use --plain-http for an http registry) (layer x)`,
      )
    } finally {
      cutting.closeAllConnections()
      await new Promise<void>((resolve) => cutting.close(() => resolve()))
    }
  })
})

describe('RegistryClient over node:http: redirects, deadlines, connections', () => {
  const listen = async (handler: RequestListener) => {
    const s = createServer(handler)
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
    return {server: s, host: `127.0.0.1:${(s.address() as {port: number}).port}`}
  }
  const close = async (s: Server) => {
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  it('follows a blob redirect to another host without the Authorization header; same origin keeps it', async () => {
    const got: Array<{url: string; authorization?: string}> = []
    const storage = await listen((req, res) => {
      got.push({url: req.url!, authorization: req.headers.authorization})
      res.writeHead(200, {'content-length': '5'}).end('blob!')
    })
    const registry = await listen((req, res) => {
      got.push({url: req.url!, authorization: req.headers.authorization})
      if (req.headers.authorization !== 'Basic dTpw') return res.writeHead(401, {'www-authenticate': 'Basic realm="r"'}).end()
      if (req.url === '/v2/a/b/blobs/x') return res.writeHead(307, {location: `http://${storage.host}/data/x?sig=1`}).end()
      if (req.url === '/v2/a/b/blobs/y') return res.writeHead(302, {location: '/v2/a/b/blobs/x2'}).end()
      if (req.url === '/v2/a/b/blobs/x2') return res.writeHead(200).end('same')
      res.writeHead(404).end()
    })
    try {
      const c = new RegistryClient({domain: registry.host, repository: 'a/b', plainHttp: true, credentials: {username: 'u', password: 'p'}, actions: 'pull'})
      const read = async (path: string) => {
        const chunks: Buffer[] = []
        for await (const chunk of c.chunks(await c.request(path, {what: 'layer x'}), 'layer x')) chunks.push(chunk)
        return Buffer.concat(chunks).toString()
      }
      expect(await read('/blobs/x')).toBe('blob!')
      expect(got.at(-1)).toEqual({url: '/data/x?sig=1', authorization: undefined})
      expect(await read('/blobs/y')).toBe('same')
      expect(got.at(-1)).toEqual({url: '/v2/a/b/blobs/x2', authorization: 'Basic dTpw'})
    } finally {
      await Promise.all([close(storage.server), close(registry.server)])
    }
  })

  it('a registry that does not answer, or pauses in a body, past timeoutMs: deadline-exceeded naming it', async () => {
    const slow = await listen((req, res) => {
      if (req.url!.includes('silent')) return // never answers
      res.writeHead(200, {'content-length': '100'})
      res.write(Buffer.alloc(10)) // then pauses
    })
    try {
      const c = new RegistryClient({domain: slow.host, repository: 'a/b', plainHttp: true, actions: 'pull', timeoutMs: 300})
      await expect(c.request('/blobs/silent', {what: 'layer s'})).rejects.toMatchObject({
        kind: 'deadline-exceeded',
        message: `registry ${slow.host} did not answer within 300ms (layer s)`,
      })
      const response = await c.request('/blobs/p', {what: 'layer p'})
      const read = async () => {
        for await (const chunk of c.chunks(response, 'layer p')) void chunk
      }
      await expect(read()).rejects.toMatchObject({kind: 'deadline-exceeded', message: `registry ${slow.host} sent nothing of layer p for 300ms`})
    } finally {
      await close(slow.server)
    }
  })

  it('the time its reader holds a chunk is not a pause of the registry; an abort mid-body is cancelled', async () => {
    const steady = await listen((_req, res) => {
      res.writeHead(200, {'content-length': '20'})
      res.write(Buffer.alloc(10))
      setTimeout(() => res.end(Buffer.alloc(10)), 50)
    })
    try {
      const c = new RegistryClient({domain: steady.host, repository: 'a/b', plainHttp: true, actions: 'pull', timeoutMs: 200})
      let n = 0
      for await (const chunk of c.chunks(await c.request('/blobs/s', {what: 'layer s'}), 'layer s')) {
        n += chunk.length
        await new Promise((resolve) => setTimeout(resolve, 400))
      }
      expect(n).toBe(20)
      const controller = new AbortController()
      const aborting = new RegistryClient({domain: steady.host, repository: 'a/b', plainHttp: true, actions: 'pull', signal: controller.signal})
      const response = await aborting.request('/blobs/s', {what: 'layer s'})
      const read = async () => {
        for await (const chunk of aborting.chunks(response, 'layer s')) controller.abort(void chunk)
      }
      await expect(read()).rejects.toMatchObject({kind: 'cancelled'})
    } finally {
      await close(steady.server)
    }
  })

  it('blobs of one host reuse one kept-alive connection', async () => {
    const sockets = new Set<unknown>()
    const keep = await listen((req, res) => {
      sockets.add(req.socket)
      res.writeHead(200, {'content-length': '3'}).end('abc')
    })
    try {
      const c = new RegistryClient({domain: keep.host, repository: 'a/b', plainHttp: true, actions: 'pull'})
      for (let i = 0; i < 3; i++) for await (const chunk of c.chunks(await c.request(`/blobs/${i}`, {what: 'layer'}), 'layer')) void chunk
      const head = await c.request('/blobs/h', {method: 'HEAD', what: 'layer'})
      expect(head.headers.get('content-length')).toBe('3')
      head.body.resume()
      expect(sockets.size).toBe(1)
    } finally {
      await close(keep.server)
    }
  })
})
