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
import {PassThrough} from 'node:stream'

import {ContentDefinition, WriteAction, WriteContentRequest, type WriteContentResponse} from '../../gen/containerd/services/content/v1/content'
import {LeasesDefinition} from '../../gen/containerd/services/leases/v1/leases'
import {type CallOptions, type ContainerdClient, Encoded} from '../containerd/client'
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
  /**
   * With `expected`: the data is not hashed here, containerd checks it at COMMIT (a pull: as Go's fetcher
   * relies on). Its FAILED_PRECONDITION "unexpected commit digest" is the same "does not match its digest"
   * error, and the ingest is dropped so that the next try starts over.
   */
  verifiedAtCommit?: boolean
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

/**
 * WRITE requests of about CHUNK_BYTES each, encoded here rather than by the generic codec: the data is
 * copied once, from the chunks read into the message's own buffer, behind room for the request's other
 * fields; those are written in front of it when the piece is complete (protobuf fields may come in any
 * order, so the data field is last). Generic encoding would copy each piece three times more (concatenating
 * the chunks, the encoder's buffer, a Buffer of it) before grpc-js frames it.
 */
class WritePieces {
  private readonly headroom: number
  private buffer: Buffer
  private length = 0

  constructor(
    private readonly ref: string,
    /** The blob offset of the next piece's first byte. */
    private offset: number,
  ) {
    // action, ref, offset and the data field's tag and length: the ref's bytes and a few varints.
    this.headroom = Buffer.byteLength(ref) + 40
    this.buffer = this.fresh()
  }

  private fresh(): Buffer {
    return Buffer.allocUnsafe(this.headroom + CHUNK_BYTES)
  }

  /** Copies `chunk` in; returns the pieces it completed. */
  add(chunk: Buffer): Piece[] {
    const done: Piece[] = []
    for (let at = 0; at < chunk.length;) {
      const n = Math.min(chunk.length - at, CHUNK_BYTES - this.length)
      chunk.copy(this.buffer, this.headroom + this.length, at, at + n)
      this.length += n
      at += n
      if (this.length === CHUNK_BYTES) done.push(this.flush()!)
    }
    return done
  }

  /** The piece begun, if any. */
  flush(): Piece | undefined {
    if (this.length === 0) return undefined
    const fields = WriteContentRequest.encode(WriteContentRequest.fromPartial({action: WriteAction.WRITE, ref: this.ref, offset: BigInt(this.offset)})).finish()
    const dataLength = varint(this.length)
    const start = this.headroom - dataLength.length - 1 - fields.length
    this.buffer.set(fields, start)
    this.buffer[start + fields.length] = (6 << 3) | 2 // field 6 (data), length-delimited
    this.buffer.set(dataLength, start + fields.length + 1)
    const piece = {message: new Encoded(this.buffer.subarray(start, this.headroom + this.length)), length: this.length}
    this.offset += this.length
    this.length = 0
    this.buffer = this.fresh()
    return piece
  }
}

/** One WRITE request, encoded, and how many bytes of the blob it carries. */
interface Piece {
  message: Encoded
  length: number
}

/** A protobuf varint. */
function varint(n: number): Uint8Array {
  const bytes: number[] = []
  for (; n >= 0x80; n = Math.floor(n / 128)) bytes.push((n % 128) | 0x80)
  bytes.push(n)
  return Uint8Array.from(bytes)
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

/**
 * One Content.Write call as a state machine. Each state sends its request(s), reads the answers it needs,
 * and names the next state; the data side (what was read, its hash) is a Tally, not flags:
 *
 *   stat ── ALREADY_EXISTS ─────────────────────────────→ exists (the STAT leased it)
 *   stat ── offset = size, digest = expected ───────────→ shared ── COMMIT ──→ exists
 *   stat ── otherwise: offset = what the ingest holds ──→ write ── all sent, digest checked ──→ commit ── COMMIT ──→ committed
 *                                                                                    ALREADY_EXISTS at COMMIT ──→ exists (leased here)
 *
 * `shared`: the blob is in the store under another namespace (containerd's default "shared" content
 * policy): a COMMIT alone adds it to this namespace, as Go's fetch handler does; writing it instead would
 * make containerd copy the blob first, then take all of ours. `write` opens the data at the offset STAT
 * gave (`open`: a resumed download) or from 0, and pipelines WRITEs, reading answers (offsets) only when
 * more than WINDOW_BYTES are unacknowledged. A digest mismatch ends the call before any COMMIT; an error
 * from the data (an aborted read) ends it too. Locked refs fail `stat` with RefLocked (writeBlob retries).
 */
type WriteState =
  | {name: 'stat'}
  | {name: 'shared'}
  | {name: 'write'; ingested: number}
  | {name: 'commit'; total: number; digest: string}
  | {name: 'committed'}
  | {name: 'exists'}

/** The request and response sides of one Content.Write call, used in turn by the states. */
class WriteCall {
  private readonly outbox = new PassThrough({objectMode: true})
  private readonly responses: AsyncIterator<WriteContentResponse>

  constructor(client: ContainerdClient, call: CallOptions) {
    this.responses = client.service(ContentDefinition).write(this.outbox, call)[Symbol.asyncIterator]()
  }

  send(request: Partial<WriteContentRequest> | Encoded): void {
    this.outbox.write(request)
  }

  /** The next answer; undefined once containerd has ended the call. */
  async receive(): Promise<WriteContentResponse | undefined> {
    const next = await this.responses.next()
    return next.done ? undefined : next.value
  }

  /** Half-closes, and cancels the call if containerd has not ended it. */
  async close(): Promise<void> {
    this.outbox.end()
    await this.responses.return?.()
  }
}

/** What was read from the data: its hash, first bytes, length, and (small blobs) the bytes. */
class Tally {
  readonly hash = sha256Hash()
  /** containerd hashes it at COMMIT (verifiedAtCommit): not here. */
  private readonly unhashed: boolean
  head = Buffer.alloc(0)
  read = 0
  private readonly kept: Buffer[] | undefined

  constructor(
    private readonly options: WriteBlobOptions,
    /** Where the data read starts in the blob (a resumed write: after what the ingest had). */
    public from = 0,
  ) {
    this.kept = options.size !== undefined && options.size <= KEEP_BYTES ? [] : undefined
    this.unhashed = Boolean(options.verifiedAtCommit && options.expected)
  }

  observe(chunk: Buffer): void {
    if (!this.unhashed) this.hash.update(chunk)
    if (this.head.length < 16) this.head = Buffer.concat([this.head, chunk.subarray(0, 16 - this.head.length)])
    this.kept?.push(chunk)
    this.read += chunk.length
    this.options.onBytes?.(chunk.length)
  }

  /** What was read hashes to (with verifiedAtCommit: `expected`, which containerd's COMMIT checks). */
  digest(): string {
    if (this.unhashed) return this.options.expected!
    return `sha256:${this.hash.copy().digest('hex')}`
  }

  /** The result once all the data is read: its digest and size checked (a resumed blob's by containerd). */
  result(name: string, existed: boolean): WrittenBlob {
    const {expected, size} = this.options
    const digest = this.digest()
    if (expected && this.from === 0 && digest !== expected) throw digestMismatch(name, expected, digest)
    if (size !== undefined && this.from + this.read !== size)
      throw new CtrError('usage', `${name}: read ${this.from + this.read} bytes, the archive says ${size}`)
    if (this.from > 0) return {digest: expected!, size: size!, existed, head: this.head}
    return {digest, size: this.read, existed, head: this.head, bytes: this.kept ? Buffer.concat(this.kept) : undefined}
  }
}

async function writeOnce(client: ContainerdClient, name: string, options: WriteBlobOptions): Promise<WrittenBlob> {
  const {ref, expected, size} = options
  const labels = options.labels ?? {}
  const tally = new Tally(options)
  const call = new WriteCall(client, options.call)
  /** The data, once `write` has opened it (`open`) or from the start (`data`). */
  let data = options.data
  let dataRead = false
  /** The digest a COMMIT named (for the lease when containerd answers ALREADY_EXISTS). */
  let committing = expected

  const unfinished = () => new CtrError('internal', `${name}: containerd ended the write of ${ref} without committing it`)
  /** Reads answers up to the COMMIT's (WRITE answers still in flight come first). */
  const commitAnswer = async (): Promise<WriteContentResponse> => {
    for (let response = await call.receive(); response; response = await call.receive()) if (response.action === WriteAction.COMMIT) return response
    throw unfinished()
  }
  /** ALREADY_EXISTS at COMMIT: the store's copy (another writer committed it first) joins our lease. */
  const existingAtCommit = async (error: unknown): Promise<WriteState> => {
    if (!(error instanceof CtrError && error.kind === 'already-exists')) throw error
    if (options.leaseId && committing)
      await client.service(LeasesDefinition).addResource({id: options.leaseId, resource: {id: committing, type: 'content'}}, {signal: options.call.signal})
    return {name: 'exists'}
  }

  async function stat(): Promise<WriteState> {
    call.send({action: WriteAction.STAT, ref, total: BigInt(size ?? 0), expected: expected ?? ''})
    let response: WriteContentResponse | undefined
    try {
      response = await call.receive()
    } catch (error) {
      if (error instanceof CtrError && error.kind === 'already-exists') return {name: 'exists'} // at STAT: now under our lease
      if (error instanceof CtrError && error.kind === 'unavailable' && error.subject?.type === 'locked-ref') throw new RefLocked(error.message, {cause: error})
      throw error
    }
    if (!response) throw unfinished()
    const offset = Number(response.offset)
    // offset = size with the expected digest: another namespace's blob (or a leftover ingest of this ref
    // with the right bytes, which is as good).
    if (expected && size && offset === size && response.digest === expected) return {name: 'shared'}
    // A leftover ingest is resumed from its offset, or (offset ≥ size: a bad one) written over from 0.
    return {name: 'write', ingested: size !== undefined && offset < size ? offset : 0}
  }

  async function shared(): Promise<WriteState> {
    call.send({action: WriteAction.COMMIT, ref, offset: BigInt(size!), total: BigInt(size!), expected: expected!, labels})
    try {
      await commitAnswer()
    } catch (error) {
      return existingAtCommit(error)
    }
    return {name: 'exists'}
  }

  async function write(ingested: number): Promise<WriteState> {
    if (options.open) {
      const opened = await options.open(expected ? ingested : 0)
      tally.from = opened.offset
      data = opened.data
    }
    if (!data) throw new CtrError('internal', `${name}: no data to write`)
    let sent = tally.from
    let acked = tally.from
    const pieces = new WritePieces(ref, sent)
    const send = async (piece: Piece | undefined) => {
      if (!piece) return
      call.send(piece.message)
      sent += piece.length
      while (sent - acked > WINDOW_BYTES) {
        const response = await call.receive()
        if (!response) throw unfinished()
        acked = Number(response.offset)
      }
    }
    for await (const chunk of data) {
      tally.observe(chunk)
      for (const piece of pieces.add(chunk)) await send(piece)
    }
    await send(pieces.flush())
    dataRead = true
    const digest = tally.digest()
    if (expected && tally.from === 0 && digest !== expected) throw digestMismatch(name, expected, digest)
    // A resumed blob is only partly hashed here: containerd checks the whole against `expected`.
    return {name: 'commit', total: sent, digest: tally.from > 0 ? expected! : digest}
  }

  async function commit(total: number, digest: string): Promise<WriteState> {
    committing = digest
    call.send({action: WriteAction.COMMIT, ref, offset: BigInt(total), total: BigInt(total), expected: digest, labels})
    let answer: WriteContentResponse
    try {
      answer = await commitAnswer()
    } catch (error) {
      if ((tally.from > 0 || options.verifiedAtCommit) && error instanceof CtrError && error.kind === 'failed-precondition') {
        // The blob does not have its digest (a resumed one: maybe the ingest's first part): the next try starts over.
        await client
          .service(ContentDefinition)
          .abort({ref}, {signal: options.call.signal})
          .catch(() => undefined)
        // containerd (content/local/writer.go): "unexpected commit digest <actual>, expected <expected>: failed precondition"
        const actual = /unexpected commit digest (\S+), expected /.exec(error.message)?.[1]
        if (actual && expected && options.verifiedAtCommit) throw digestMismatch(name, expected, actual)
      }
      return existingAtCommit(error)
    }
    if (answer.digest && answer.digest !== digest) throw new CtrError('internal', `${name}: containerd committed ${answer.digest}, expected ${digest}`)
    return {name: 'committed'}
  }

  let state: WriteState = {name: 'stat'}
  try {
    while (state.name !== 'committed' && state.name !== 'exists') {
      if (state.name === 'stat') state = await stat()
      else if (state.name === 'shared') state = await shared()
      else if (state.name === 'write') state = await write(state.ingested)
      else state = await commit(state.total, state.digest)
    }
  } finally {
    await call.close()
  }

  if (state.name === 'committed') return tally.result(name, false)
  // exists: the data is not needed (a pull: nothing downloaded), or was never opened; else read the rest
  // through, so an archive's digest is still checked and the archive moves on to the next entry.
  if (!dataRead && ((options.skipExisting && expected) || !data))
    return {digest: expected ?? committing ?? '', size: size ?? 0, existed: true, head: tally.head}
  if (!dataRead) for await (const chunk of data!) tally.observe(chunk)
  return tally.result(name, true)
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
