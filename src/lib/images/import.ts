/**
 * `ctr images import`: an OCI image layout or `docker save` archive (plain or gzip) into containerd, as Go
 * ctr 1.6 does it (client.Import + image.Unpack), in one pass over the archive:
 *
 * 1. A lease (expiring by itself after an hour) covers everything written, so a failed or interrupted
 *    import leaves nothing once the lease is deleted: image records are only created at the very end.
 * 2. Every blob streams into the content store as its tar entry comes (Content.Write), checked against its
 *    digest; blobs the store has are read through, not sent. Small JSON blobs are kept in memory.
 * 3. The archive's index (OCI) or manifest.json (Docker, converted to schema 2 manifests and an index with
 *    the same digests Go ctr computes) names the images; each is resolved for the platform (this
 *    machine's, --platform, --all-platforms), every blob it needs must be there, and the parents get the
 *    `containerd.io/gc.ref.content.*` labels that keep their children.
 * 4. Unless --no-unpack, each image's manifest for the platform is unpacked into the snapshotter (./unpack).
 * 5. Images.Create, or Images.Update of the target when the name exists; a failure here puts back what was
 *    changed. Then the lease is deleted (the records now hold everything).
 * Steps 1 and 5, the labels and the roll-back are the image transaction's (./transaction), shared with pull.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {posix} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {ContentDefinition} from '../../gen/containerd/services/content/v1/content'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError, optionError, usageError} from '../containerd/errors'
import {readArchive} from './archive'
import {sha256Digest} from './digest'
import {type Descriptor, hasBlob, readBlob, writeBlob, type WrittenBlob} from './content'
import {
  type ArchiveBlob,
  dockerImages,
  type ImageConfig,
  isCompressed,
  type MadeBlob,
  parseConfig,
  parseDockerManifest,
  parseIndex,
  parseOciLayout,
} from './layout'
import {MEDIA_TYPE, UNCOMPRESSED_LABEL} from './media-types'
import {imageNameFor} from './naming'
import {ALL_PLATFORMS, defaultMatcher, parsePlatform, strictMatcher} from './platform'
import {type Candidate, type ImageBlobs, resolveImage, type Resolved} from './resolve'
import {DEFAULT_SNAPSHOTTER, type UnpackResult} from './unpack'
import {runImageTransaction} from './transaction'

export interface ImportOptions {
  /** The archive: a path, `-` for stdin, or a stream. */
  source: string | Readable
  /** For messages when source is a stream (default `archive`). */
  label?: string
  /** Name tag-only OCI refs BASE:tag, and import only images named under BASE (Go ctr --base-name). */
  baseName?: string
  /** Also keep the archive's index as an image of this name. */
  indexName?: string
  /** `os/arch[/variant]`: import and unpack only this platform (default: this machine's). */
  platform?: string
  allPlatforms?: boolean
  /** Default overlayfs. */
  snapshotter?: string
  /** Default true. */
  unpack?: boolean
  /** gzip the uncompressed layers of a docker save archive (Go ctr --compress-blobs; other digests than Go's). */
  compressBlobs?: boolean
  signal?: AbortSignal
  onProgress?: (event: ImportProgress) => void
  /** The day of the default `import-YYYY-MM-DD` prefix. */
  now?: Date
}

export type ImportProgress = {phase: 'read'; bytes: number; total?: number} | {phase: 'unpack'; image: string; layer: number; layers: number}

export interface ImportedImage {
  name: string
  target: Descriptor
  /** false: an image of that name existed and now points here. */
  created: boolean
  /** The unpacked snapshot chain, unless --no-unpack (or no manifest for this machine with --all-platforms). */
  unpacked?: UnpackResult & {platform: string}
}

/** Blobs of a tar entry up to this size count as JSON candidates; metadata files are read whole up to it. */
const METADATA_LIMIT = 20 * 1024 * 1024
const BLOB_PATH = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/

export async function importImages(client: ContainerdClient, options: ImportOptions): Promise<ImportedImage[]> {
  const signal = options.signal
  const snapshotter = options.snapshotter || DEFAULT_SNAPSHOTTER
  const requested = options.platform ? parsePlatform(options.platform) : undefined
  if (options.allPlatforms && requested) throw optionError('usage', (o) => `${o('platform')} and ${o('allPlatforms')} cannot be used together`)
  const importMatcher = options.allPlatforms ? ALL_PLATFORMS : requested ? strictMatcher(requested) : defaultMatcher()
  const unpackMatcher = requested ? strictMatcher(requested) : defaultMatcher()

  const {input, label, total} = await openSource(options)
  // An abort (Ctrl-C, --timeout) also ends a read that waits for input (a stalled stdin pipe).
  const stopReading = () => input.destroy(new CtrError('cancelled', 'import interrupted'))
  // The reader sees that error through its own listener; before reading has begun (the lease not yet made:
  // a paused daemon) nobody listens, and an 'error' with no listener would crash ctr with a stack trace.
  input.on('error', () => undefined)
  signal?.addEventListener('abort', stopReading, {once: true})
  try {
    return await runImageTransaction(
      client,
      {operation: 'import', signal, snapshotter, onUnpackLayer: (image, layer, layers) => options.onProgress?.({phase: 'unpack', image, layer, layers})},
      async (tx) => {
        const {call} = tx
        const archive = await readAll(client, input, label, {call, leaseId: tx.lease.id, signal, total, onProgress: options.onProgress})
        const store = new BlobSource(client, archive, call)

        const {candidates} = await namedImages(client, archive, store, options, call)
        const resolved: Resolved[] = []
        for (const candidate of candidates) resolved.push(await resolveImage(store, candidate, importMatcher, tx.labels))

        const imported: ImportedImage[] = resolved.map(({candidate}) => ({name: candidate.name, target: candidate.target, created: false}))
        if (options.unpack !== false) {
          const results = await tx.unpack(resolved, store, unpackMatcher)
          for (const [i, result] of results.entries()) if (result) imported[i].unpacked = result
        }
        return imported
      },
    )
  } catch (error) {
    input.destroy()
    throw error
  } finally {
    signal?.removeEventListener('abort', stopReading)
  }
}

async function openSource(options: ImportOptions): Promise<{input: Readable; label: string; total?: number}> {
  const {source} = options
  if (typeof source !== 'string') return {input: source, label: options.label ?? 'archive'}
  if (source === '-') {
    if (process.stdin.isTTY) throw usageError('stdin is a terminal: give an archive FILE, or pipe one in (ctr images import - < FILE)')
    return {input: process.stdin, label: 'the archive on stdin'}
  }
  const label = `archive ${source}`
  let total: number | undefined
  try {
    const s = await stat(source)
    if (s.isDirectory()) throw usageError(`cannot read ${label}: it is a directory (import reads a tar archive)`)
    total = s.isFile() ? s.size : undefined
  } catch (error) {
    if (error instanceof CtrError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw usageError(`cannot read ${label}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`)
  }
  return {input: createReadStream(source, {highWaterMark: 512 * 1024}), label, total}
}

/** What one pass over the archive found. */
interface ArchiveContents {
  label: string
  /** Blobs by their path in the archive (symlinks resolved to their targets' entries). */
  files: Map<string, WrittenBlob>
  byDigest: Map<string, WrittenBlob>
  ociLayout?: Buffer
  indexJson?: Buffer
  dockerManifest?: Buffer
}

function cleanPath(name: string): string {
  return posix
    .normalize(name)
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
}

async function readWhole(data: AsyncIterable<Buffer>, size: number, what: string): Promise<Buffer> {
  if (size > METADATA_LIMIT) throw usageError(`${what} is ${size} bytes, more than the ${METADATA_LIMIT / 1024 / 1024} MiB ctr reads`)
  const chunks: Buffer[] = []
  for await (const chunk of data) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function readAll(
  client: ContainerdClient,
  input: Readable,
  label: string,
  options: {call: CallOptions; leaseId: string; signal?: AbortSignal; total?: number; onProgress?: (event: ImportProgress) => void},
): Promise<ArchiveContents> {
  const contents: ArchiveContents = {label, files: new Map(), byDigest: new Map()}
  const symlinks = new Map<string, string>()
  let bytes = 0
  let lastReport = 0
  const onRead = (n: number) => {
    bytes += n
    const now = Date.now()
    if (now - lastReport >= 100) {
      lastReport = now
      options.onProgress?.({phase: 'read', bytes, total: options.total})
    }
  }
  let n = 0
  for await (const entry of readArchive(input, label, onRead)) {
    options.signal?.throwIfAborted()
    const name = cleanPath(entry.name)
    if (entry.kind === 'symlink') {
      symlinks.set(name, posix.join(posix.dirname(name), entry.target))
      continue
    }
    if (entry.kind !== 'file') continue
    const what = `${name} in ${label}`
    if (name === 'oci-layout') contents.ociLayout = await readWhole(entry.data, entry.size, what)
    else if (name === 'index.json') contents.indexJson = await readWhole(entry.data, entry.size, what)
    else if (name === 'manifest.json') contents.dockerManifest = await readWhole(entry.data, entry.size, what)
    else if (name === 'repositories' || /(^|\/)(VERSION|json)$/.test(name))
      continue // docker's legacy metadata, unused
    else {
      const m = BLOB_PATH.exec(name)
      if (m && m[1] !== 'sha256') throw usageError(`${what}: digest algorithm ${m[1]} is not supported (sha256 only)`)
      const expected = m ? `sha256:${m[2]}` : undefined
      const blob = await writeBlob(client, what, {
        ref: `${options.leaseId}-${n++}`,
        expected,
        size: entry.size,
        data: entry.data,
        call: options.call,
        leaseId: options.leaseId,
      })
      contents.files.set(name, blob)
      contents.byDigest.set(blob.digest, blob)
    }
  }
  options.onProgress?.({phase: 'read', bytes, total: options.total})
  for (const [name, target] of symlinks) {
    const blob = contents.files.get(target)
    if (blob) contents.files.set(name, blob)
  }
  return contents
}

/** Small blobs from the archive pass (or made by the import), else from the content store; parsed once. */
class BlobSource implements ImageBlobs {
  private readonly made = new Map<string, Buffer>()
  private readonly configs = new Map<string, ImageConfig>()

  constructor(
    private readonly client: ContainerdClient,
    readonly archive: ArchiveContents,
    private readonly call: CallOptions,
  ) {}

  addMade(blob: MadeBlob): void {
    this.made.set(blob.descriptor.digest, blob.bytes)
  }

  /** Whether the blob is in the archive, was made by the import, or is in the content store already. */
  get label(): string {
    return `${this.archive.label} (nor in containerd's content store)`
  }

  async has({digest}: Descriptor): Promise<boolean> {
    if (this.archive.byDigest.has(digest) || this.made.has(digest)) return true
    return hasBlob(this.client, digest, this.call)
  }

  async bytes({digest}: Descriptor): Promise<Buffer> {
    const local = this.made.get(digest) ?? this.archive.byDigest.get(digest)?.bytes
    return local ?? readBlob(this.client, digest, this.call)
  }

  async config(descriptor: Descriptor): Promise<ImageConfig> {
    let config = this.configs.get(descriptor.digest)
    if (!config) {
      config = parseConfig(await this.bytes(descriptor), `image config ${descriptor.digest}`)
      this.configs.set(descriptor.digest, config)
    }
    return config
  }
}

async function writeMade(client: ContainerdClient, store: BlobSource, blob: MadeBlob, leaseId: string, call: CallOptions): Promise<void> {
  store.addMade(blob)
  if (store.archive.byDigest.has(blob.descriptor.digest)) return
  async function* data() {
    yield blob.bytes
  }
  await writeBlob(client, `${blob.descriptor.mediaType} ${blob.descriptor.digest}`, {
    ref: `${leaseId}-${blob.descriptor.digest}`,
    expected: blob.descriptor.digest,
    size: blob.descriptor.size,
    data: data(),
    call,
    leaseId,
  })
}

/**
 * Compressed blobs the store has for uncompressed layers (`containerd.io/uncompressed` labels), by
 * uncompressed digest: Go ctr's importer puts these in the manifests it makes from docker save archives
 * (resolveLayers), so an image imported twice, or after its OCI twin, gets the same manifest digest here.
 */
async function compressedVariants(client: ContainerdClient, digests: string[], call: CallOptions): Promise<Map<string, ArchiveBlob>> {
  const wanted = [...new Set(digests.filter(Boolean))]
  const found = new Map<string, ArchiveBlob>()
  if (wanted.length === 0) return found
  const filters = wanted.map((d) => `labels."${UNCOMPRESSED_LABEL}"==${d}`)
  for await (const response of client.service(ContentDefinition).list({filters}, call)) {
    for (const info of response.info) {
      const uncompressed = info.labels[UNCOMPRESSED_LABEL]
      if (!uncompressed || !wanted.includes(uncompressed) || info.digest === uncompressed) continue
      const head = await readBlob(client, info.digest, call, 10)
      found.set(uncompressed, {digest: info.digest, size: Number(info.size), head})
    }
  }
  return found
}

/**
 * Go ctr's --compress-blobs (archive.WithImportCompression → resolveLayers, compressBlob): an uncompressed
 * layer of a Docker archive, read back from the store, gzip-compressed into a blob of its own that is
 * labelled with the uncompressed digest (so later imports and unpacks find it), for the manifest to name.
 * Streamed, never a whole layer in memory. The bytes are zlib's at its default level, not Go's
 * compress/flate's: the compressed digest differs from Go ctr's (docs/containerd.md).
 */
async function compressLayer(client: ContainerdClient, layer: WrittenBlob, leaseId: string, call: CallOptions): Promise<ArchiveBlob> {
  async function* stored() {
    for await (const r of client.service(ContentDefinition).read({digest: layer.digest, offset: 0n, size: 0n}, call)) yield Buffer.from(r.data)
  }
  const gzip = createGzip()
  let failure: unknown
  const feeding = pipeline(Readable.from(stored()), gzip).catch((error: unknown) => (failure = error))
  let blob: WrittenBlob
  try {
    blob = await writeBlob(client, `layer ${layer.digest} (gzip-compressed)`, {
      ref: `${leaseId}-gzip-${layer.digest.slice('sha256:'.length)}`,
      data: gzip,
      labels: {[UNCOMPRESSED_LABEL]: layer.digest},
      call,
      leaseId,
    })
  } finally {
    gzip.destroy()
    await feeding
  }
  if (failure) throw failure
  return {digest: blob.digest, size: blob.size, head: blob.head}
}

/** The images the archive names, and its index (as a blob, for --index-name). */
async function namedImages(
  client: ContainerdClient,
  archive: ArchiveContents,
  store: BlobSource,
  options: ImportOptions,
  call: CallOptions,
): Promise<{candidates: Candidate[]; indexBlob?: MadeBlob}> {
  const {label} = archive
  const leaseId = call.metadata!['containerd-lease']
  let index
  let indexBlob: MadeBlob | undefined
  if (archive.ociLayout) {
    parseOciLayout(archive.ociLayout, `oci-layout in ${label}`)
    if (!archive.indexJson) throw usageError(`${label} is an OCI image layout without index.json`)
    index = parseIndex(archive.indexJson, `index.json in ${label}`)
    indexBlob = {
      bytes: archive.indexJson,
      descriptor: {mediaType: MEDIA_TYPE.ociIndex, digest: sha256Digest(archive.indexJson), size: archive.indexJson.length},
    }
  } else if (archive.dockerManifest) {
    const entries = parseDockerManifest(archive.dockerManifest, `manifest.json in ${label}`)
    const configs = new Map<string, ImageConfig>()
    for (const entry of entries) {
      const blob = archive.files.get(cleanPath(entry.Config))
      if (blob?.bytes) configs.set(blob.digest, parseConfig(blob.bytes, `image config ${entry.Config} in ${label}`))
    }
    const layerFiles = entries.flatMap((e) => e.Layers.map((l) => archive.files.get(cleanPath(l))))
    const compressed = await compressedVariants(
      client,
      layerFiles.map((blob) => blob?.digest ?? ''),
      call,
    )
    if (options.compressBlobs) {
      for (const blob of layerFiles) {
        if (!blob || compressed.has(blob.digest) || isCompressed(blob.head)) continue
        compressed.set(blob.digest, await compressLayer(client, blob, leaseId, call))
      }
    }
    const fileOf = (path: string): ArchiveBlob | undefined => {
      const blob = archive.files.get(cleanPath(path))
      return (blob && compressed.get(blob.digest)) ?? blob
    }
    const made = dockerImages(entries, fileOf, (digest) => {
      const config = configs.get(digest)
      if (!config) throw usageError(`image config ${digest} in ${label} is too large to be a config`)
      return config
    })
    for (const manifest of made.manifests) await writeMade(client, store, manifest, leaseId, call)
    indexBlob = made.index
    index = parseIndex(made.index.bytes, 'the index made from manifest.json')
  } else {
    throw usageError(`${label} is not an image archive: it has neither oci-layout nor manifest.json`)
  }

  const byName = new Map<string, Candidate>()
  for (const descriptor of index.manifests) {
    const name = imageNameFor(descriptor.annotations, {baseName: options.baseName, now: options.now})
    if (name) byName.set(name, {name, target: descriptor})
  }
  if (options.indexName) {
    await writeMade(client, store, indexBlob, leaseId, call)
    byName.set(options.indexName, {name: options.indexName, target: indexBlob.descriptor})
  }
  if (byName.size === 0) {
    if (options.baseName) throw optionError('usage', (o) => `${label} has no image named under ${o('baseName')} ${options.baseName}`)
    throw optionError(
      'usage',
      (o) =>
        `${label} names no image (its index has ${index.manifests.length} manifest(s) without io.containerd.image.name or org.opencontainers.image.ref.name): give ${o('indexName')} NAME`,
    )
  }
  return {candidates: [...byName.values()], indexBlob}
}
