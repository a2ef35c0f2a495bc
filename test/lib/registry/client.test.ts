/**
 * The registry client against a small in-process HTTP registry: Bearer challenges (token fetched from the
 * realm with the scope, with Basic credentials when given, then reused), Basic, and errors as one CtrError.
 */
import {createServer, type IncomingMessage, type Server} from 'node:http'

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
