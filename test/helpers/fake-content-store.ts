/**
 * A TEST DOUBLE of containerd's content store, leases and image records, for the image write path without a
 * daemon: an in-process grpc-js server on a temporary unix socket with our generated definitions.
 * Content.Write follows containerd 1.6's content service (docs/containerd.md, "Content and pulls"):
 *
 * - STAT: a blob committed in this namespace (`expected`) → ALREADY_EXISTS; one committed only in another
 *   namespace → offset = total and its digest (the "shared" policy); a ref's ingest → its offset (and the
 *   digest of its bytes); a ref another stream holds → UNAVAILABLE "ref ... locked for ...".
 * - WRITE at the ingest's offset appends, at 0 truncates, elsewhere → OUT_OF_RANGE; every request is answered
 *   with the ingest's offset.
 * - COMMIT: ALREADY_EXISTS when the digest is committed meanwhile; FAILED_PRECONDITION when the ingest's
 *   size or digest is not the expected one; else the blob is committed (with its labels), the ingest goes,
 *   and the answer carries the digest; then the call ends.
 *
 * Every request is recorded (`recorded`, with the namespace); `handle` replaces a unary method; `onWrite`
 * sees each Content.Write request before the store does, and may throw a status error to end the call.
 */
import {createHash} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as grpc from '@grpc/grpc-js'

import {ContentDefinition, WriteAction} from '../../src/gen/containerd/services/content/v1/content'
import {type Image, ImagesDefinition} from '../../src/gen/containerd/services/images/v1/images'
import {LeasesDefinition} from '../../src/gen/containerd/services/leases/v1/leases'
import {VersionDefinition} from '../../src/gen/containerd/services/version/v1/version'
import type {ServiceDefinition} from '../../src/lib/containerd/client'
import {bindUnix, type Handler, methodDefinition, statusError, unaryMethod} from './grpc-service'

export {type Handler, statusError} from './grpc-service'

export interface FakeBlob {
  data: Buffer
  labels: Record<string, string>
}

export interface FakeContentStore {
  readonly address: string
  readonly recorded: Array<{method: string; namespace: string; request: any}>
  requests(method: string): any[]
  /** Committed blobs by `${namespace}/${digest}`. */
  readonly blobs: Map<string, FakeBlob>
  /** Open ingests by `${namespace}/${ref}`. */
  readonly ingests: Map<string, Buffer>
  /** Leases by `${namespace}/${id}`: their labels and resources (digests). */
  readonly leases: Map<string, {labels: Record<string, string>; resources: Set<string>}>
  /** Image records by `${namespace}/${name}`. */
  readonly images: Map<string, Image>
  handle(method: string, handler: Handler): void
  /** Sees each Content.Write request first; throw statusError(...) to end the call with that status. */
  onWrite?: (request: any, namespace: string) => void | Promise<void>
  stop(): Promise<void>
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

const SERVICES: ReadonlyArray<{short: string; definition: ServiceDefinition}> = [
  {short: 'Version', definition: VersionDefinition},
  {short: 'Content', definition: ContentDefinition},
  {short: 'Leases', definition: LeasesDefinition},
  {short: 'Images', definition: ImagesDefinition},
]

export async function startFakeContentStore(): Promise<FakeContentStore> {
  const dir = await mkdtemp(join(tmpdir(), 'fakecs-'))
  const address = join(dir, 'containerd.sock')
  const recorded: FakeContentStore['recorded'] = []
  const blobs = new Map<string, FakeBlob>()
  const ingests = new Map<string, Buffer>()
  const locked = new Set<string>()
  const leases: FakeContentStore['leases'] = new Map()
  const images = new Map<string, Image>()
  const key = (namespace: string, id: string) => `${namespace}/${id}`
  const lease = (metadata: grpc.Metadata, namespace: string) => leases.get(key(namespace, String(metadata.get('containerd-lease')[0] ?? '')))

  const handlers = new Map<string, Handler>([
    ['Version.Version', () => ({version: 'fake', revision: ''})],
    ['Content.Abort', (request, namespace) => void ingests.delete(key(namespace, request.ref))],
    [
      'Content.Update',
      (request, namespace) => {
        const blob = blobs.get(key(namespace, request.info.digest))
        if (!blob) throw statusError(grpc.status.NOT_FOUND, `content digest ${request.info.digest}: not found`)
        for (const path of request.updateMask as string[]) {
          const label = path.slice('labels.'.length)
          if (request.info.labels[label] === undefined) delete blob.labels[label]
          else blob.labels[label] = request.info.labels[label]
        }
        return {info: {digest: request.info.digest, size: BigInt(blob.data.length), labels: blob.labels}}
      },
    ],
    [
      'Leases.Create',
      (request, namespace) => {
        leases.set(key(namespace, request.id), {labels: {...request.labels}, resources: new Set()})
        return {lease: {id: request.id, labels: request.labels}}
      },
    ],
    [
      'Leases.Delete',
      (request, namespace) => {
        if (!leases.delete(key(namespace, request.id))) throw statusError(grpc.status.NOT_FOUND, `lease "${request.id}": not found`)
      },
    ],
    [
      'Leases.List',
      (_request, namespace) => ({
        leases: [...leases].filter(([k]) => k.startsWith(`${namespace}/`)).map(([k, l]) => ({id: k.slice(namespace.length + 1), labels: l.labels})),
      }),
    ],
    [
      'Leases.AddResource',
      (request, namespace) => {
        const held = leases.get(key(namespace, request.id))
        if (!held) throw statusError(grpc.status.NOT_FOUND, `lease "${request.id}": not found`)
        held.resources.add(request.resource.id)
      },
    ],
    [
      'Images.Get',
      (request, namespace) => {
        const image = images.get(key(namespace, request.name))
        if (!image) throw statusError(grpc.status.NOT_FOUND, `image "${request.name}": not found`)
        return {image}
      },
    ],
    [
      'Images.Create',
      (request, namespace) => {
        if (images.has(key(namespace, request.image.name))) throw statusError(grpc.status.ALREADY_EXISTS, `image "${request.image.name}": already exists`)
        images.set(key(namespace, request.image.name), request.image)
        return {image: request.image}
      },
    ],
    [
      'Images.Update',
      (request, namespace) => {
        const image = images.get(key(namespace, request.image.name))
        if (!image) throw statusError(grpc.status.NOT_FOUND, `image "${request.image.name}": not found`)
        image.target = request.image.target
        return {image}
      },
    ],
    ['Images.Delete', (request, namespace) => void images.delete(key(namespace, request.name))],
  ])

  const store: FakeContentStore = {
    address,
    recorded,
    requests: (method) => recorded.filter((r) => r.method === method).map((r) => r.request),
    blobs,
    ingests,
    leases,
    images,
    handle: (method, handler) => void handlers.set(method, handler),
    stop: async () => {
      server.forceShutdown()
      await rm(dir, {recursive: true, force: true})
    },
  }

  /** Content.Write, one ref per call, as containerd's content service runs it. */
  function write(call: grpc.ServerDuplexStream<any, any>): void {
    const namespace = String(call.metadata.get('containerd-namespace')[0] ?? '')
    let ref: string | undefined
    /** The ref this call holds the lock of. */
    let holds: string | undefined
    let finished = false
    const fail = (error: unknown) => {
      if (finished) return
      finished = true
      unlock()
      call.emit('error', typeof (error as {code?: unknown})?.code === 'number' ? error : statusError(grpc.status.UNKNOWN, String(error)))
    }
    const unlock = () => {
      if (holds) locked.delete(holds)
      holds = undefined
    }
    // Requests are answered one at a time, in order; after the call is answered the rest is ignored.
    let chain = Promise.resolve()
    call.on('data', (request) => {
      chain = chain.then(async () => {
        if (finished) return
        recorded.push({method: 'Content.Write', namespace, request})
        await answer(request).catch(fail)
      })
    })
    call.on('end', () => {
      chain = chain.then(() => {
        if (finished) return
        finished = true
        call.end()
      })
    })
    call.on('error', unlock).on('close', unlock).on('finish', unlock)

    async function answer(request: any): Promise<void> {
      await store.onWrite?.(request, namespace)
      if (ref === undefined) {
        ref = request.ref as string
        if (locked.has(key(namespace, ref))) throw statusError(grpc.status.UNAVAILABLE, `ref ${ref} locked for 1s (since now): unavailable`)
        holds = key(namespace, ref)
        locked.add(holds)
        if (request.expected && blobs.has(key(namespace, request.expected))) {
          lease(call.metadata, namespace)?.resources.add(request.expected)
          throw statusError(grpc.status.ALREADY_EXISTS, `content ${request.expected}: already exists`)
        }
      }
      const ingestKey = key(namespace, ref)
      const elsewhere = request.expected && [...blobs.keys()].some((k) => k.endsWith(`/${request.expected}`))
      if (request.action === WriteAction.STAT) {
        if (elsewhere && !ingests.has(ingestKey)) {
          call.write({action: WriteAction.STAT, offset: request.total, total: request.total, digest: request.expected})
          return
        }
        const ingest = ingests.get(ingestKey) ?? Buffer.alloc(0)
        ingests.set(ingestKey, ingest)
        call.write({action: WriteAction.STAT, offset: BigInt(ingest.length), total: request.total, digest: ingest.length ? sha256(ingest) : ''})
      } else if (request.action === WriteAction.WRITE) {
        const ingest = ingests.get(ingestKey) ?? Buffer.alloc(0)
        const offset = Number(request.offset)
        if (offset !== 0 && offset !== ingest.length)
          throw statusError(grpc.status.OUT_OF_RANGE, `write at ${offset}, the ingest has ${ingest.length}: out of range`)
        const next = Buffer.concat([offset === 0 ? Buffer.alloc(0) : ingest, request.data])
        ingests.set(ingestKey, next)
        call.write({action: WriteAction.WRITE, offset: BigInt(next.length)})
      } else if (request.action === WriteAction.COMMIT) {
        const expected = request.expected as string
        if (blobs.has(key(namespace, expected))) throw statusError(grpc.status.ALREADY_EXISTS, `content ${expected}: already exists`)
        const shared = elsewhere ? [...blobs].find(([k]) => k.endsWith(`/${expected}`))![1].data : undefined
        const data = ingests.get(ingestKey)?.length ? ingests.get(ingestKey)! : (shared ?? Buffer.alloc(0))
        if (Number(request.total) !== data.length)
          throw statusError(grpc.status.FAILED_PRECONDITION, `unexpected commit size ${data.length}, expected ${request.total}: failed precondition`)
        if (sha256(data) !== expected)
          throw statusError(grpc.status.FAILED_PRECONDITION, `unexpected commit digest ${sha256(data)}, expected ${expected}: failed precondition`)
        blobs.set(key(namespace, expected), {data, labels: {...request.labels}})
        lease(call.metadata, namespace)?.resources.add(expected)
        ingests.delete(ingestKey)
        call.write({action: WriteAction.COMMIT, offset: BigInt(data.length), total: BigInt(data.length), digest: expected})
        finished = true
        call.end()
      }
    }
  }

  const server = new grpc.Server({'grpc.max_receive_message_length': 16 << 20})
  for (const {short, definition} of SERVICES) {
    const service: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
    const implementation: grpc.UntypedServiceImplementation = {}
    for (const [name, method] of Object.entries(definition.methods)) {
      service[name] = methodDefinition(definition, method)
      const fullMethod = `${short}.${method.name}`
      if (fullMethod === 'Content.Write') {
        implementation[name] = write
        continue
      }
      implementation[name] = method.responseStream
        ? (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', statusError(grpc.status.UNIMPLEMENTED, `${fullMethod}: not in the fake`))
        : unaryMethod(fullMethod, handlers, recorded)
    }
    server.addService(service, implementation)
  }
  await bindUnix(server, address)
  return store
}
