/**
 * writeBlob's states against an in-process content store (test/helpers/fake-content-store.ts): which
 * requests each path sends, what it reads of the data, and what it leaves in the store and the lease.
 */
import {randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import * as grpc from '@grpc/grpc-js'

import {WriteAction} from '../../../src/gen/containerd/services/content/v1/content'
import {ContainerdClient} from '../../../src/lib/containerd/client'
import {CtrError} from '../../../src/lib/containerd/errors'
import {writeBlob, type WriteBlobOptions} from '../../../src/lib/images/content'
import {type FakeContentStore, sha256, startFakeContentStore, statusError} from '../../helpers/fake-content-store'

const NS = 'ns'
const LEASE = 'lease-1'
let store: FakeContentStore
let client: ContainerdClient

beforeEach(async () => {
  store = await startFakeContentStore()
  store.leases.set(`${NS}/${LEASE}`, {labels: {}, resources: new Set()})
  client = new ContainerdClient({address: store.address, namespace: NS})
})
afterEach(async () => {
  client.close()
  await store.stop()
})

/** The data in pieces of `piece` bytes, counting what was read. */
function source(data: Buffer, piece = 64 * 1024): {data: AsyncIterable<Buffer>; read: () => number} {
  let read = 0
  return {
    data: (async function* () {
      for (let at = 0; at < data.length; at += piece) {
        const chunk = data.subarray(at, at + piece)
        read += chunk.length
        yield chunk
      }
    })(),
    read: () => read,
  }
}

const options = (extra: Partial<WriteBlobOptions>): WriteBlobOptions => ({
  ref: 'ref-1',
  call: {metadata: {'containerd-lease': LEASE}},
  leaseId: LEASE,
  ...extra,
})

/** The actions of the Content.Write requests, with WRITE offsets: ['STAT', 'WRITE@0', ..., 'COMMIT']. */
function actions(): string[] {
  return store.requests('Content.Write').map((r) => (r.action === WriteAction.WRITE ? `WRITE@${r.offset}` : WriteAction[r.action]))
}

describe('writeBlob', () => {
  it('stat → write → commit: a new blob streams in pieces, is committed with its labels and kept under the lease', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 123)
    const digest = sha256(blob)
    const input = source(blob)
    const written = await writeBlob(client, 'blob', options({expected: digest, size: blob.length, data: input.data, labels: {a: 'b'}}))
    expect(written).toMatchObject({digest, size: blob.length, existed: false})
    expect(written.bytes?.equals(blob)).toBe(true)
    expect(written.head.equals(blob.subarray(0, 16))).toBe(true)
    expect(actions()).toEqual(['STAT', ...[0, 1, 2, 3, 4, 5, 6].map((k) => `WRITE@${k * 512 * 1024}`), 'COMMIT'])
    expect(store.blobs.get(`${NS}/${digest}`)?.data.equals(blob)).toBe(true)
    expect(store.blobs.get(`${NS}/${digest}`)?.labels).toEqual({a: 'b'})
    expect(store.leases.get(`${NS}/${LEASE}`)!.resources.has(digest)).toBe(true)
    expect(store.ingests.size).toBe(0)
  })

  it('pieces made of chunks of any size (1 byte, larger than a piece): every WRITE decodes with its ref and offset, the blob arrives whole and in order', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 5)
    const digest = sha256(blob)
    const sizes = [1, 300_000, 1024 * 1024 + 7, 3, 512 * 1024, 65_536]
    const data = (async function* () {
      for (let at = 0, k = 0; at < blob.length; k++) {
        const n = sizes[k % sizes.length]
        yield blob.subarray(at, at + n)
        at += n
      }
    })()
    // A ref longer than 127 bytes and not ASCII: its length takes two varint bytes, its bytes more than its characters.
    const ref = `layer-ä-${'x'.repeat(200)}`
    const written = await writeBlob(client, 'blob', options({ref, expected: digest, size: blob.length, data}))
    expect(written).toMatchObject({digest, size: blob.length, existed: false})
    const writes = store.requests('Content.Write').filter((r) => r.action === WriteAction.WRITE)
    expect(writes.map((r) => [Number(r.offset), r.data.length])).toEqual([...[0, 1, 2, 3, 4, 5].map((k) => [k * 512 * 1024, 512 * 1024]), [6 * 512 * 1024, 5]])
    expect(writes.every((r) => r.ref === ref && r.total === 0n && r.expected === '')).toBe(true)
    expect(Buffer.concat(writes.map((r) => Buffer.from(r.data))).equals(blob)).toBe(true)
    expect(store.blobs.get(`${NS}/${digest}`)?.data.equals(blob)).toBe(true)
  })

  it('pipelines with a bounded window: what was read but has not reached containerd stays under 1 MiB + one piece', async () => {
    const blob = randomBytes(8 * 1024 * 1024)
    const input = source(blob)
    let most = 0
    const watched = (async function* () {
      for await (const chunk of input.data) {
        const arrived = store.requests('Content.Write').reduce((n, r) => n + (r.data?.length ?? 0), 0)
        most = Math.max(most, input.read() - arrived)
        yield chunk
      }
    })()
    await writeBlob(client, 'blob', options({expected: sha256(blob), size: blob.length, data: watched}))
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(1024 * 1024 + 512 * 1024 + 64 * 1024)
  })

  it('stat → shared commit: a blob only another namespace has is added by a COMMIT alone; the data is not read', async () => {
    const blob = randomBytes(100_000)
    const digest = sha256(blob)
    store.blobs.set(`other/${digest}`, {data: blob, labels: {}})
    const input = source(blob)
    const written = await writeBlob(client, 'blob', options({expected: digest, size: blob.length, data: input.data, skipExisting: true}))
    expect(written).toMatchObject({digest, size: blob.length, existed: true})
    expect(actions()).toEqual(['STAT', 'COMMIT'])
    expect(store.requests('Content.Write')[1]).toMatchObject({offset: BigInt(blob.length), total: BigInt(blob.length), expected: digest})
    expect(input.read()).toBe(0)
    expect(store.blobs.has(`${NS}/${digest}`)).toBe(true)
  })

  it('stat → exists: a blob this namespace has; with skipExisting nothing is read, without it the data is read through and checked', async () => {
    const blob = randomBytes(10_000)
    const digest = sha256(blob)
    store.blobs.set(`${NS}/${digest}`, {data: blob, labels: {}})
    const skipped = source(blob)
    expect(await writeBlob(client, 'blob', options({expected: digest, size: blob.length, data: skipped.data, skipExisting: true}))).toMatchObject({
      existed: true,
      digest,
    })
    expect(skipped.read()).toBe(0)
    const through = source(blob)
    expect(await writeBlob(client, 'blob', options({expected: digest, size: blob.length, data: through.data}))).toMatchObject({existed: true, digest})
    expect(through.read()).toBe(blob.length)
    expect(actions()).toEqual(['STAT', 'STAT'])
    // Read through, a wrong archive entry is still caught.
    const wrong = source(randomBytes(10_000))
    await expect(writeBlob(client, 'entry', options({expected: digest, size: blob.length, data: wrong.data}))).rejects.toThrow(
      /entry does not match its digest/,
    )
  })

  it('resumes at the offset STAT gives: open(offset) → WRITEs from there; the whole blob is committed', async () => {
    const blob = randomBytes(2 * 1024 * 1024)
    const digest = sha256(blob)
    const kept = 700_000
    store.ingests.set(`${NS}/layer-${digest}`, blob.subarray(0, kept))
    const asked: number[] = []
    const written = await writeBlob(
      client,
      'layer',
      options({
        ref: `layer-${digest}`,
        expected: digest,
        size: blob.length,
        skipExisting: true,
        open: async (offset) => (asked.push(offset), {offset, data: source(blob.subarray(offset)).data}),
      }),
    )
    expect(asked).toEqual([kept])
    expect(actions()[1]).toBe(`WRITE@${kept}`)
    expect(written).toMatchObject({digest, size: blob.length, existed: false})
    expect(store.blobs.get(`${NS}/${digest}`)?.data.equals(blob)).toBe(true)
  })

  it('starts over when open answers 0 (a registry that ignored the Range)', async () => {
    const blob = randomBytes(600_000)
    const digest = sha256(blob)
    store.ingests.set(`${NS}/layer-${digest}`, blob.subarray(0, 1000))
    await writeBlob(
      client,
      'layer',
      options({ref: `layer-${digest}`, expected: digest, size: blob.length, open: async () => ({offset: 0, data: source(blob).data})}),
    )
    expect(actions().slice(0, 2)).toEqual(['STAT', 'WRITE@0'])
    expect(store.blobs.get(`${NS}/${digest}`)?.data.equals(blob)).toBe(true)
  })

  it('a resumed ingest whose first part is bad: COMMIT fails, the ref is aborted so the next try starts over', async () => {
    const blob = randomBytes(300_000)
    const digest = sha256(blob)
    store.ingests.set(`${NS}/layer-${digest}`, randomBytes(1000))
    const write = writeBlob(
      client,
      'layer',
      options({ref: `layer-${digest}`, expected: digest, size: blob.length, open: async (offset) => ({offset, data: source(blob.subarray(offset)).data})}),
    )
    await expect(write).rejects.toMatchObject({kind: 'failed-precondition'})
    expect(store.requests('Content.Abort')).toEqual([{ref: `layer-${digest}`}])
    expect(store.ingests.has(`${NS}/layer-${digest}`)).toBe(false)
  })

  it('ALREADY_EXISTS at COMMIT (another writer was first): the store copy joins the lease, the result says it existed', async () => {
    const blob = randomBytes(50_000)
    const digest = sha256(blob)
    store.onWrite = (request) => {
      if (request.action === WriteAction.COMMIT) store.blobs.set(`${NS}/${digest}`, {data: blob, labels: {}})
    }
    // No digest up front (a layer compressed as it is written): STAT cannot know.
    const written = await writeBlob(client, 'gzip layer', options({data: source(blob).data}))
    expect(written).toMatchObject({digest, size: blob.length, existed: true})
    expect(store.requests('Leases.AddResource')).toEqual([{id: LEASE, resource: {id: digest, type: 'content'}}])
  })

  it('a digest mismatch ends the call before any COMMIT, and nothing is committed', async () => {
    const blob = randomBytes(200_000)
    const expected = sha256('something else')
    await expect(writeBlob(client, 'blobs/sha256/x in archive', options({expected, size: blob.length, data: source(blob).data}))).rejects.toThrow(
      `blobs/sha256/x in archive does not match its digest: expected ${expected}, the data has ${sha256(blob)}`,
    )
    expect(actions()).not.toContain('COMMIT')
    expect(store.blobs.size).toBe(0)
  })

  it('verifiedAtCommit (a pull): the data is checked by COMMIT; a mismatch is the same one-line error, the ingest dropped', async () => {
    const blob = randomBytes(200_000)
    const good = await writeBlob(
      client,
      'layer',
      options({ref: 'layer-a', expected: sha256(blob), size: blob.length, data: source(blob).data, verifiedAtCommit: true}),
    )
    expect(good).toMatchObject({digest: sha256(blob), size: blob.length, existed: false})
    expect(store.blobs.get(`${NS}/${sha256(blob)}`)?.data.equals(blob)).toBe(true)
    const expected = sha256('something else')
    const write = writeBlob(client, 'layer x from r', options({ref: 'layer-b', expected, size: blob.length, data: source(blob).data, verifiedAtCommit: true}))
    await expect(write).rejects.toThrow(`layer x from r does not match its digest: expected ${expected}, the data has ${sha256(blob)}`)
    await expect(write).rejects.toMatchObject({kind: 'usage'})
    expect(actions().at(-1)).toBe('COMMIT')
    expect(store.requests('Content.Abort')).toEqual([{ref: 'layer-b'}])
    expect(store.ingests.has(`${NS}/layer-b`)).toBe(false)
    expect(store.blobs.has(`${NS}/${expected}`)).toBe(false)
  })

  it('a size other than the one given is an error naming both', async () => {
    const blob = randomBytes(1000)
    await expect(writeBlob(client, 'entry', options({size: 2000, data: source(blob).data}))).rejects.toThrow('entry: read 1000 bytes, the archive says 2000')
  })

  it('abort: a stalled data source destroyed on abort, and a daemon that does not answer COMMIT, both end the write at once', async () => {
    const stalled = new Readable({read() {}})
    stalled.push(randomBytes(1000))
    const controller = new AbortController()
    controller.signal.addEventListener('abort', () => stalled.destroy(new CtrError('cancelled', 'import interrupted')))
    const write = writeBlob(client, 'entry', options({size: 5000, data: stalled, call: {signal: controller.signal}}))
    setTimeout(() => controller.abort(), 50)
    await expect(write).rejects.toMatchObject({kind: 'cancelled'})

    const hang = new AbortController()
    store.onWrite = (request) => (request.action === WriteAction.COMMIT ? new Promise(() => {}) : undefined)
    const blob = randomBytes(1000)
    const started = Date.now()
    const hung = writeBlob(
      client,
      'blob',
      options({ref: 'ref-2', expected: sha256(blob), size: blob.length, data: source(blob).data, call: {signal: hang.signal}}),
    )
    setTimeout(() => hang.abort(), 100)
    await expect(hung).rejects.toMatchObject({kind: 'cancelled'})
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('a ref another stream holds: waits for it, and finds the blob committed (ALREADY_EXISTS)', async () => {
    const blob = randomBytes(1000)
    const digest = sha256(blob)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let first = true
    store.onWrite = async (request) => {
      if (request.action === WriteAction.COMMIT && first) {
        first = false
        await held
      }
    }
    const a = writeBlob(client, 'a', options({ref: `layer-${digest}`, expected: digest, size: blob.length, data: source(blob).data}))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const b = writeBlob(client, 'b', options({ref: `layer-${digest}`, expected: digest, size: blob.length, data: source(blob).data, skipExisting: true}))
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    expect(await a).toMatchObject({existed: false})
    expect(await b).toMatchObject({existed: true, digest})
  })

  it('an error from containerd mid-stream ends the write with that error', async () => {
    store.onWrite = (request) => {
      if (request.action === WriteAction.WRITE && request.offset > 0n) throw statusError(grpc.status.RESOURCE_EXHAUSTED, 'no space left on device')
    }
    const blob = randomBytes(3 * 1024 * 1024)
    await expect(writeBlob(client, 'blob', options({expected: sha256(blob), size: blob.length, data: source(blob).data}))).rejects.toThrow(/no space left/)
  })
})
