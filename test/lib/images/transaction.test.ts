/**
 * The image transaction import and pull share (src/lib/images/transaction.ts), against an in-process
 * content store with leases and image records (test/helpers/fake-content-store.ts): what it leaves after
 * success, a failure in the work, a failure among the records, an interrupt, and a lease it cannot delete.
 */
import * as grpc from '@grpc/grpc-js'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ContainerdClient} from '../../../src/lib/containerd/client'
import {CtrError} from '../../../src/lib/containerd/errors'
import {writeBlob} from '../../../src/lib/images/content'
import {EXPIRE_LABEL, OWNER_LABEL} from '../../../src/lib/images/lease'
import {runImageTransaction} from '../../../src/lib/images/transaction'
import {type FakeContentStore, sha256, startFakeContentStore, statusError} from '../../helpers/fake-content-store'

const NS = 'ns'
let store: FakeContentStore
let client: ContainerdClient

beforeEach(async () => {
  store = await startFakeContentStore()
  client = new ContainerdClient({address: store.address, namespace: NS})
})
afterEach(async () => {
  client.close()
  await store.stop()
})

const manifest = Buffer.from('{"schemaVersion":2}')
const target = {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length}

async function* bytes(data: Buffer) {
  yield data
}

describe('runImageTransaction', () => {
  it('writes under one lease (owner, expiry), labels the blobs, creates the records, then deletes the lease', async () => {
    const images = await runImageTransaction(client, {operation: 'pull'}, async (tx) => {
      expect(tx.lease.id).toMatch(/^ctr-pull-/)
      expect(store.leases.get(`${NS}/${tx.lease.id}`)?.labels).toMatchObject({[EXPIRE_LABEL]: expect.any(String), [OWNER_LABEL]: expect.any(String)})
      await writeBlob(client, 'manifest', {ref: 'm', expected: target.digest, size: target.size, data: bytes(manifest), call: tx.call, leaseId: tx.lease.id})
      expect(store.leases.get(`${NS}/${tx.lease.id}`)?.resources.has(target.digest)).toBe(true)
      tx.label(target.digest, {a: '1'})
      tx.label(target.digest, {b: '2'})
      return [{name: 'example.com/a:1', target, created: false}]
    })
    expect(images).toEqual([{name: 'example.com/a:1', target, created: true}])
    expect(store.blobs.get(`${NS}/${target.digest}`)?.labels).toEqual({a: '1', b: '2'})
    expect(store.images.get(`${NS}/example.com/a:1`)?.target?.digest).toBe(target.digest)
    expect(store.leases.size).toBe(0)
  })

  it('a failure in the work: no record, the lease deleted with a synchronous collection, the error as it was', async () => {
    const failure = new CtrError('usage', 'manifest.json in archive x is not JSON')
    await expect(runImageTransaction(client, {operation: 'import'}, async () => Promise.reject(failure))).rejects.toBe(failure)
    expect(store.images.size).toBe(0)
    expect(store.leases.size).toBe(0)
    expect(store.requests('Leases.Delete')).toEqual([expect.objectContaining({sync: true})])
  })

  it('a failure among the records puts back those made: a created one deleted, an updated one pointing where it did', async () => {
    const before = {name: 'b', target: {mediaType: target.mediaType, digest: sha256('old'), size: 3n, annotations: {}}, labels: {keep: 'me'}}
    store.images.set(`${NS}/b`, {...before, createdAt: undefined, updatedAt: undefined})
    store.handle('Images.Create', (request) => {
      if (request.image.name === 'c') throw statusError(grpc.status.FAILED_PRECONDITION, 'no')
      store.images.set(`${NS}/${request.image.name}`, request.image)
      return {image: request.image}
    })
    await expect(
      runImageTransaction(client, {operation: 'import'}, async () => [
        {name: 'a', target, created: false},
        {name: 'b', target, created: false},
        {name: 'c', target, created: false},
      ]),
    ).rejects.toMatchObject({kind: 'failed-precondition'})
    expect([...store.images.keys()]).toEqual([`${NS}/b`])
    expect(store.images.get(`${NS}/b`)?.target?.digest).toBe(before.target.digest)
    expect(store.leases.size).toBe(0)
  })

  it('an interrupt: "pull interrupted" (cancelled), nothing recorded, the lease deleted over a fresh connection', async () => {
    const controller = new AbortController()
    const run = runImageTransaction(client, {operation: 'pull', signal: controller.signal}, async (tx) => {
      controller.abort()
      tx.call.signal?.throwIfAborted()
      return [{name: 'a', target, created: false}]
    })
    await expect(run).rejects.toMatchObject({kind: 'cancelled', message: 'pull interrupted'})
    expect(store.images.size).toBe(0)
    expect(store.leases.size).toBe(0)
  })

  it('a lease it cannot delete is named in the error (CtrError.left), for import and pull alike', async () => {
    store.handle('Leases.Delete', () => {
      throw statusError(grpc.status.UNAVAILABLE, 'connection refused')
    })
    for (const operation of ['import', 'pull'] as const) {
      const run = runImageTransaction(client, {operation}, async () => Promise.reject(new CtrError('not-found', 'blob x not found')))
      const error = (await run.catch((e: unknown) => e)) as CtrError
      expect(error).toBeInstanceOf(CtrError)
      expect(error.kind).toBe('not-found')
      expect(error.message).toMatch(
        new RegExp(`^blob x not found; containerd could not be reached to clean up; left: lease "ctr-${operation}-[^"]+" in namespace "ns"`),
      )
      expect(error.left).toMatch(/expires at/)
    }
  })
})
