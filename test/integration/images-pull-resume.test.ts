/**
 * A pull killed with SIGKILL half-way through a layer (issue 21 item 13): the next pull resumes the download
 * from the ingest the first one left (stable ingest refs, an HTTP Range request) and fetches fewer bytes; a
 * registry that ignores Range (200, the whole blob) makes it start over and still succeed. The bytes are
 * counted by a proxy between ctr and the private registry, which can also stall a blob half-way.
 */
import {randomBytes} from 'node:crypto'
import {createServer, request, type Server} from 'node:http'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {type PrivateRegistry, startRegistry} from '../helpers/registry'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const LAYER_BYTES = 24 * 1024 * 1024

let f: ImagesFixture
let registry: PrivateRegistry
let proxy: Server
let proxyHost = ''
const counted = {blobBytes: 0, ranges: [] as string[], statuses: [] as number[]}
/** Stall blob bodies after this many bytes (the test then kills ctr); Infinity: pass everything. */
let stallAfter = Infinity
let stalled: (() => void) | undefined
let stripRange = false

beforeAll(async () => {
  f = await setupImagesFixture('pull-resume')
  registry = await startRegistry()
  for (const tag of ['a', 'b']) {
    // Random (incompressible) content: each image's big layer is its own.
    const image = await buildImage({layers: [filesLayer({'big.bin': randomBytes(LAYER_BYTES)})], gzip: true, config: {Cmd: ['true']}})
    const archive = join(f.dir, `${tag}.tar`)
    await writeOciArchive(archive, [{image, name: 'x'}])
    await registry.put(archive, `test/resume:${tag}`)
  }
  proxy = createServer((req, res) => {
    const blob = /\/blobs\/sha256:/.test(req.url ?? '')
    const headers = {...req.headers}
    if (blob && headers.range) counted.ranges.push(String(headers.range))
    if (stripRange) delete headers.range
    const upstream = request({host: '127.0.0.1', port: Number(registry.host.split(':')[1]), method: req.method, path: req.url, headers}, (answer) => {
      if (blob) counted.statuses.push(answer.statusCode ?? 0)
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      let sent = 0
      answer.on('data', (chunk: Buffer) => {
        if (!blob) return void res.write(chunk)
        if (sent >= stallAfter) {
          answer.pause()
          stalled?.()
          return
        }
        sent += chunk.length
        counted.blobBytes += chunk.length
        res.write(chunk)
      })
      answer.on('end', () => res.end())
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  proxyHost = `127.0.0.1:${(proxy.address() as {port: number}).port}`
}, 120_000)

afterAll(async () => {
  proxy?.closeAllConnections()
  proxy?.close()
  await registry?.stop()
  await f?.cleanup()
})

function reset(): void {
  counted.blobBytes = 0
  counted.ranges = []
  counted.statuses = []
}

/** Starts a pull through the proxy, stalls it after `bytes` of blob data, SIGKILLs it. */
async function killedPull(ns: string, tag: string, bytes: number): Promise<void> {
  stallAfter = bytes
  const isStalled = new Promise<void>((resolve) => (stalled = resolve))
  const child = f.spawn(ns, ['images', 'pull', '--plain-http', '--max-concurrent-downloads', '1', `${proxyHost}/test/resume:${tag}`])
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await isStalled
  // What was sent has reached containerd's ingest (written as it arrives).
  for (let i = 0; i < 100; i++) {
    const active = await f.rows(ns, ['content', 'active'])
    if (active.some((r) => Number(r[1]?.replace(/\D/g, '')) > 0)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  await new Promise((r) => setTimeout(r, 300))
  child.kill('SIGKILL')
  await exited
  stallAfter = Infinity
  stalled = undefined
}

describe('a pull killed half-way', () => {
  it('resumes at the next pull: a Range request, fewer bytes fetched, the image whole, nothing left', async () => {
    const ns = f.namespace('resume')
    await killedPull(ns, 'a', 12 * 1024 * 1024)
    reset()
    const again = await f.cli(ns, ['images', 'pull', '--plain-http', `${proxyHost}/test/resume:a`])
    expect(again.code, again.stderr).toBe(0)
    expect(counted.ranges).toHaveLength(1)
    expect(counted.statuses).toContain(206)
    // The layer is ~24 MiB (gzip does not shrink random bytes); at least 8 MiB of it was not fetched again.
    expect(counted.blobBytes).toBeLessThan(LAYER_BYTES - 8 * 1024 * 1024)
    const state = await f.state(ns)
    expect(state.leases).toEqual([])
    expect(state.ingests).toEqual([])
  }, 180_000)

  it('a registry that ignores Range (200, the whole blob): the write starts over and the pull succeeds', async () => {
    const ns = f.namespace('no-range')
    await killedPull(ns, 'b', 12 * 1024 * 1024)
    reset()
    stripRange = true
    try {
      const again = await f.cli(ns, ['images', 'pull', '--plain-http', `${proxyHost}/test/resume:b`])
      expect(again.code, again.stderr).toBe(0)
    } finally {
      stripRange = false
    }
    expect(counted.ranges).toHaveLength(1)
    expect(counted.blobBytes).toBeGreaterThan(LAYER_BYTES)
    const state = await f.state(ns)
    expect(state.leases).toEqual([])
    expect(state.ingests).toEqual([])
    expect(state.images).toEqual([`${proxyHost}/test/resume:b`])
  }, 180_000)
})
