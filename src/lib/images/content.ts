/**
 * The content store, as the importer uses it: streaming a blob in with Content.Write, reading small blobs
 * (manifests, configs) back, and labels.
 *
 * Content.Write, as containerd 1.6's content service runs it (services/content/contentserver): one ref per
 * stream; the first request opens the ref's writer, and with `expected` set to a digest the store already
 * holds it answers ALREADY_EXISTS at once (and adds that blob to the call's lease, so it stays); every
 * request gets a response carrying the ref's offset; a WRITE at an offset other than the current one is
 * OUT_OF_RANGE (offset 0 truncates); COMMIT checks the total and the digest, applies the labels and ends the
 * stream. Writes are pipelined: the next request goes out before the last response is in (the offsets are
 * checked as responses come), so a blob streams at the socket's pace rather than one round trip a chunk.
 */
import {ContentDefinition, WriteAction} from '../../gen/containerd/services/content/v1/content'
import {LeasesDefinition} from '../../gen/containerd/services/leases/v1/leases'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {retry} from '../retry'
import {sha256Hash} from './digest'

/** Messages of about this size (fewer frames than tar-stream's chunks; larger ones only cost memory). */
const CHUNK_BYTES = 512 * 1024
/**
 * At most this much sent and not yet acknowledged (each request in flight is held 3-4 times over, as the
 * request, its encoding and its gRPC frame): enough to keep the stream busy, and memory bounded. Two
 * messages: 4 MiB was no faster (bench/image-pull.sh 2.53 s at 2 MiB, 2.56 s at 1 MiB; image-import.sh 2.20
 * and 2.25 s), and cost ≈15 MiB of peak RSS in a pull (161 → 145 MiB) and ≈11 MiB in an import.
 */
const WINDOW_BYTES = 1024 * 1024

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
  platform?: {os: string; architecture: string; variant?: string}
}

export interface WriteBlobOptions {
  /** Ingest ref; unique per import so two imports never lock each other's refs. */
  ref: string
  /** The digest the data must have (from the archive's blobs/<alg>/<hex> name), if known. */
  expected?: string
  /** Size from the tar header; undefined when the data is made as it is sent (a layer compressed on import). */
  size?: number
  /** The blob's bytes from the start. Not with `open`. */
  data?: AsyncIterable<Buffer>
  /**
   * Instead of `data`, for a stable `ref` (a pull's `layer-<digest>`): called once STAT has told how much of
   * the blob an earlier, interrupted write left in the ref's ingest (`offset`), it returns the bytes from where
   * it can resume: that offset (an HTTP Range request answered 206) or 0 (the write then starts over). Bytes
   * resumed are not hashed here: containerd checks the whole blob against `expected` at COMMIT.
   */
  open?: (offset: number) => Promise<{offset: number; data: AsyncIterable<Buffer>}>
  labels?: Record<string, string>
  /** Lease metadata and abort signal for the call. */
  call: CallOptions
  /**
   * The lease in `call`: when the store's copy is found only at COMMIT (ALREADY_EXISTS there, e.g. another
   * writer committed it meanwhile, or no digest was known up front), the write has not leased it: it is added.
   */
  leaseId?: string
  /** Bytes read so far from `data` (for progress). */
  onBytes?: (n: number) => void
  /**
   * With `expected`: when the store has that digest, do not read `data` at all (a pull: nothing is
   * downloaded). Otherwise it is read through, so an archive's digest is still checked.
   */
  skipExisting?: boolean
}

export interface WrittenBlob {
  digest: string
  size: number
  /** The store had it already: nothing was sent. */
  existed: boolean
  /** The first bytes (compression detection for Docker layers). */
  head: Buffer
  /** The whole blob when it is small (≤ 4 MiB): manifests and configs are read from here. */
  bytes?: Buffer
}

const KEEP_BYTES = 4 * 1024 * 1024

/** Concatenates chunks into pieces of about CHUNK_BYTES. */
async function* coalesce(data: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  let length = 0
  for await (const chunk of data) {
    pending.push(chunk)
    length += chunk.length
    if (length >= CHUNK_BYTES) {
      yield pending.length === 1 ? pending[0] : Buffer.concat(pending, length)
      pending = []
      length = 0
    }
  }
  if (length > 0) yield pending.length === 1 ? pending[0] : Buffer.concat(pending, length)
}

export function digestMismatch(name: string, expected: string, actual: string): CtrError {
  return new CtrError('usage', `${name} does not match its digest: expected ${expected}, the data has ${actual}`)
}

/**
 * Streams one blob into the content store and returns its digest, verified here (sha256 of what was read)
 * as well as by the daemon. A blob the store already has is read through (so its digest is still checked)
 * but not sent. `name` is the archive path, for errors.
 */
export async function writeBlob(client: ContainerdClient, name: string, options: WriteBlobOptions): Promise<WrittenBlob> {
  // A stable ref another writer holds (another pull of the same blob) is refused at STAT, before any data is
  // read: wait for it, as Go's content.OpenWriter does; it usually ends with the blob committed (ALREADY_EXISTS).
  try {
    return await retry(() => writeOnce(client, name, options), {
      retryable: (error) => error instanceof RefLocked,
      backoff: {initialMs: 16, maxMs: 1000, factor: 2, jitter: 'full'},
      withinMs: LOCKED_WAIT_MS,
      signal: options.call.signal,
    })
  } catch (error) {
    throw error instanceof RefLocked ? error.cause : error
  }
}

/** How long a write waits for another writer of its ref. */
const LOCKED_WAIT_MS = 10 * 60 * 1000

class RefLocked extends Error {}

async function writeOnce(client: ContainerdClient, name: string, options: WriteBlobOptions): Promise<WrittenBlob> {
  const hash = sha256Hash()
  const kept: Buffer[] = []
  let head = Buffer.alloc(0)
  let read = 0
  const keep = options.size !== undefined && options.size <= KEEP_BYTES
  const observe = (chunk: Buffer) => {
    hash.update(chunk)
    if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)])
    if (keep) kept.push(chunk)
    read += chunk.length
    options.onBytes?.(chunk.length)
  }
  const finish = (existed: boolean): WrittenBlob => {
    const digest = `sha256:${hash.digest('hex')}`
    if (options.expected && from === 0 && digest !== options.expected) throw digestMismatch(name, options.expected, digest)
    if (options.size !== undefined && from + read !== options.size)
      throw new CtrError('usage', `${name}: read ${from + read} bytes, the archive says ${options.size}`)
    if (from > 0) return {digest: options.expected!, size: options.size!, existed, head, bytes: undefined}
    return {digest, size: read, existed, head, bytes: keep ? Buffer.concat(kept) : undefined}
  }

  // The request stream waits for the STAT answer before it reads any data, so a blob the store has is
  // never half sent; and it stops (without COMMIT) when the data does not match `expected`. 'shared': the
  // blob is in the store under another namespace (containerd's default "shared" content policy): STAT says
  // it is all there (offset = size), and a COMMIT alone adds it to this namespace, as Go's fetch handler
  // does. Writing it instead would make containerd copy the blob first, then take all of ours.
  let statAnswered!: (proceed: 'write' | 'shared' | false) => void
  const statDone = new Promise<'write' | 'shared' | false>((resolve) => (statAnswered = resolve))
  /** What the ref's ingest holds already (STAT), and where our data starts (0 or that). */
  let ingested = 0
  let from = 0
  let data = options.data
  let shared = false
  let mismatch: CtrError | undefined
  let sent = 0
  let acked = 0
  let credit: (() => void) | undefined
  let dataDone = false
  let committedDigest: string | undefined
  async function* requests() {
    yield {action: WriteAction.STAT, ref: options.ref, total: BigInt(options.size ?? 0), expected: options.expected ?? ''}
    const proceed = await statDone
    if (!proceed) return
    if (proceed === 'shared') {
      shared = true
      committedDigest = options.expected
      const size = BigInt(options.size!)
      yield {action: WriteAction.COMMIT, ref: options.ref, offset: size, total: size, expected: options.expected!, labels: options.labels ?? {}}
      return
    }
    if (options.open) {
      const opened = await options.open(options.expected ? ingested : 0)
      from = opened.offset
      data = opened.data
      sent = from
    }
    if (!data) throw new CtrError('internal', `${name}: no data to write`)
    for await (const chunk of coalesce(data)) {
      observe(chunk)
      yield {action: WriteAction.WRITE, ref: options.ref, offset: BigInt(sent), data: chunk}
      sent += chunk.length
      while (sent - acked > WINDOW_BYTES && !ended) await new Promise<void>((resolve) => (credit = resolve))
    }
    dataDone = true
    const digest = `sha256:${hash.copy().digest('hex')}`
    if (options.expected && from === 0 && digest !== options.expected) {
      mismatch = digestMismatch(name, options.expected, digest)
      return
    }
    committedDigest = from > 0 ? options.expected : digest
    yield {action: WriteAction.COMMIT, ref: options.ref, offset: BigInt(sent), total: BigInt(sent), expected: committedDigest!, labels: options.labels ?? {}}
  }

  let ended = false
  let first = true
  let committed = false
  let existed = false
  try {
    for await (const response of client.service(ContentDefinition).write(requests(), options.call)) {
      acked = Number(response.offset)
      credit?.()
      if (first) {
        first = false
        // A ref left over by an earlier, interrupted run starts again from 0 (WRITE at offset 0 truncates).
        // offset = size with the expected digest: another namespace's blob (a leftover ingest of this ref with
        // the right bytes would also do, and is as good).
        const whole = Number(response.offset) === options.size && response.digest === options.expected
        ingested = options.size !== undefined && Number(response.offset) < options.size ? Number(response.offset) : 0
        statAnswered(options.expected && options.size && whole ? 'shared' : 'write')
        continue
      }
      if (response.action === WriteAction.COMMIT) {
        committed = true
        if (response.digest && committedDigest && response.digest !== committedDigest) {
          throw new CtrError('internal', `${name}: containerd committed ${response.digest}, expected ${committedDigest}`)
        }
      }
    }
  } catch (error) {
    ended = true
    credit?.()
    statAnswered(false)
    if (first && error instanceof CtrError && error.kind === 'unavailable' && error.subject?.type === 'locked-ref')
      throw new RefLocked(error.message, {cause: error})
    if (from > 0 && error instanceof CtrError && error.kind === 'failed-precondition') {
      // The resumed blob does not have its digest (the ingest's first part was bad): the next try starts over.
      await client
        .service(ContentDefinition)
        .abort({ref: options.ref}, {signal: options.call.signal})
        .catch(() => undefined)
    }
    if (error instanceof CtrError && error.kind === 'already-exists') {
      // At STAT: the store has the expected digest (now under our lease). At COMMIT (no expected digest
      // known up front, Docker archives; or another writer committed it first): the same content is there
      // already, and not under our lease: it is added, as Go's fetch handler ignores this error.
      existed = true
      if (!first && options.leaseId) {
        const digest = committedDigest ?? options.expected
        if (digest)
          await client.service(LeasesDefinition).addResource({id: options.leaseId, resource: {id: digest, type: 'content'}}, {signal: options.call.signal})
      }
    } else {
      throw error
    }
  }
  if (mismatch) throw mismatch
  if (shared) {
    if (!committed && !existed) throw new CtrError('internal', `${name}: containerd ended the write of ${options.ref} without committing it`)
    existed = true
  }
  if (existed && options.skipExisting && options.expected && !dataDone && read === 0) {
    return {digest: options.expected, size: options.size ?? 0, existed: true, head, bytes: undefined}
  }
  if (existed && !data) return {digest: options.expected ?? committedDigest ?? '', size: options.size ?? 0, existed: true, head, bytes: undefined}
  if (existed) {
    // Read the rest through: the digest is still checked, and the archive moves on to the next entry.
    if (!dataDone) for await (const chunk of data!) observe(chunk)
    return finish(true)
  }
  if (!committed) throw new CtrError('internal', `${name}: containerd ended the write of ${options.ref} without committing it`)
  return finish(false)
}

/** A small blob (index, manifest, config) from the store, or its first `size` bytes. */
export async function readBlob(client: ContainerdClient, digest: string, call: CallOptions, size = 0): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const response of client.service(ContentDefinition).read({digest, offset: 0n, size: BigInt(size)}, call)) chunks.push(Buffer.from(response.data))
  return Buffer.concat(chunks)
}

/** Sets (adds or replaces) labels on a blob; other labels stay. */
export async function setBlobLabels(client: ContainerdClient, digest: string, labels: Record<string, string>, call: CallOptions): Promise<void> {
  const keys = Object.keys(labels)
  if (keys.length === 0) return
  await client.service(ContentDefinition).update({info: {digest, labels}, updateMask: keys.map((k) => `labels.${k}`)}, call)
}

/** Whether the store has the blob (NOT_FOUND → false). */
export async function hasBlob(client: ContainerdClient, digest: string, call: CallOptions): Promise<boolean> {
  try {
    await client.service(ContentDefinition).info({digest}, call)
    return true
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return false
    throw error
  }
}
