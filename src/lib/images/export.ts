/**
 * `images export`: images of containerd's store as one tar, the way Go ctr 1.6 writes it
 * (images/archive/exporter.go), so Go ctr, docker load, skopeo and our import all read it:
 * - an OCI image layout: `oci-layout`, `index.json` with one entry per image (its target, annotated with
 *   `io.containerd.image.name` = the full name and `org.opencontainers.image.ref.name` = its tag part), and
 *   `blobs/sha256/<hex>` for every blob of the platform(s) exported;
 * - docker's `manifest.json` (`[{Config, RepoTags, Layers}]`, paths into blobs/, names familiar:
 *   `busybox:latest`) naming, per image, the manifest for the platform (an index: the best match).
 * Entries are sorted by name (blobs first), as Go's; every blob is streamed from Content.Read and its digest
 * checked on the way, so memory does not grow with the image. Plain indexes are kept whole (their other
 * platforms' manifests are then not in the archive, as with Go's export).
 *
 * The file is written as a temporary beside FILE (`.FILE.ctr-export-<owner>-<random>`, opened O_EXCL|
 * O_NOFOLLOW) and renamed over FILE at the end: a failure or an interrupt leaves FILE as it was. A temporary
 * whose ctr was killed is removed by the next export to the same FILE.
 */
import {constants as fsConstants, unlinkSync} from 'node:fs'
import {lstat, open, readdir, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import type * as TarStream from 'tar-stream'

import {ContentDefinition} from '../../gen/containerd/services/content/v1/content'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, usageError} from '../containerd/errors'
import {ownerState, ownerToken} from '../owner'
import {randomHex} from '../random-id'
import {type Descriptor, hasBlob, readBlob} from './content'
import {sha256Hash} from './digest'
import {descriptorJson, type ImageManifest, parseIndex, parseManifest} from './layout'
import {requireImage} from './lookup'
import {ANNOTATION, isIndexType, isManifestType} from './media-types'
import {normalizeDockerRef, referenceObject} from './naming'
import {formatPlatform, hostPlatform, normalizePlatform, parsePlatform, type PlatformMatcher, strictMatcher} from './platform'

export interface ExportOptions {
  refs: readonly string[]
  /** The platform whose blobs are exported (and named in manifest.json); default this machine's, exactly. */
  platform?: string
  /** Export every platform's blobs (manifest.json still names --platform's or this machine's). */
  allPlatforms?: boolean
  signal?: AbortSignal
}

export interface ExportedImage {
  name: string
  mediaType: string
  digest: string
  /** The manifest docker's manifest.json names for it (none: the image has no manifest for the platform). */
  manifest?: string
}

/** What an export writes, decided (and every blob found in the store) before anything is written. */
export interface ExportPlan {
  images: ExportedImage[]
  blobs: Descriptor[]
  /** Bytes of every entry's data. */
  size: number
  files: Array<{name: string; data: Buffer; mode: number}>
}

const blobPath = (digest: string) => `blobs/${digest.replace(':', '/')}`

/** `docker.io/library/busybox:latest` → `busybox:latest` (distribution's FamiliarString of TagNameOnly). */
export function familiarName(name: string): string | undefined {
  let full: string
  try {
    full = normalizeDockerRef(name)
  } catch {
    return undefined
  }
  if (full.startsWith('docker.io/library/') && !full.slice('docker.io/library/'.length).includes('/')) return full.slice('docker.io/library/'.length)
  if (full.startsWith('docker.io/')) return full.slice('docker.io/'.length)
  return full
}

export async function planExport(client: ContainerdClient, options: ExportOptions): Promise<ExportPlan> {
  const {signal} = options
  const call = {signal}
  const matcher: PlatformMatcher = strictMatcher(options.platform ? parsePlatform(options.platform) : hostPlatform())
  const blobs = new Map<string, Descriptor>()
  const manifests = new Map<string, {manifest: ImageManifest; names: string[]}>()
  const images: ExportedImage[] = []
  const indexEntries: Descriptor[] = []

  const json = new Map<string, Promise<Buffer>>()
  const bytes = (d: Descriptor) => {
    let p = json.get(d.digest)
    if (!p) json.set(d.digest, (p = readBlob(client, d.digest, call)))
    return p
  }

  for (const ref of new Set(options.refs)) {
    const record = await requireImage(client, ref, signal)
    if (images.some((i) => i.name === record.name)) continue
    const what = `image ${record.name}`
    const target: Descriptor = {mediaType: record.target!.mediaType, digest: record.target!.digest, size: Number(record.target!.size)}
    if (Object.keys(record.target!.annotations).length > 0) target.annotations = {...record.target!.annotations}

    const need = async (d: Descriptor, role: string) => {
      if (blobs.has(d.digest)) return
      if (!(await hasBlob(client, d.digest, call)))
        throw usageError(`${what}: ${role} ${d.digest} is not in containerd's content store (fetched for another platform? choose one with --platform)`)
      blobs.set(d.digest, {mediaType: d.mediaType, digest: d.digest, size: d.size})
    }
    /** A manifest or index and everything below it. */
    const walkAll = async (d: Descriptor, depth: number): Promise<void> => {
      if (depth > 4) throw usageError(`${what}: indexes nested too deeply`)
      if (isIndexType(d.mediaType)) {
        await need(d, 'index')
        for (const child of parseIndex(await bytes(d), `${what}: index ${d.digest}`).manifests) await walkAll(child, depth + 1)
      } else if (isManifestType(d.mediaType)) {
        await need(d, 'manifest')
        const manifest = parseManifest(await bytes(d), `${what}: manifest ${d.digest}`)
        await need(manifest.config, `config of manifest ${d.digest}`)
        for (const [i, layer] of manifest.layers.entries()) await need(layer, `layer ${i + 1} of manifest ${d.digest}`)
      } else {
        throw usageError(`${what}: ${d.digest} has media type ${d.mediaType}, not an image manifest or index`)
      }
    }

    let dockerManifest: Descriptor | undefined
    if (isManifestType(target.mediaType)) {
      // A single manifest is exported whatever its platform, as Go's export does.
      await walkAll(target, 0)
      dockerManifest = target
    } else if (isIndexType(target.mediaType)) {
      await need(target, 'index')
      const index = parseIndex(await bytes(target), `${what}: index ${target.digest}`)
      const matched: Descriptor[] = []
      for (const child of index.manifests) {
        const matches = !child.platform || matcher.match(child.platform)
        if (matches && isManifestType(child.mediaType)) matched.push(child)
        if (matches || options.allPlatforms) await walkAll(child, 1)
      }
      const rank = (d: Descriptor) => (d.platform ? matcher.rank(d.platform) : Number.MAX_SAFE_INTEGER)
      dockerManifest = matched.sort((a, b) => rank(a) - rank(b))[0]
      if (!dockerManifest && !options.allPlatforms) {
        const has = [...new Set(index.manifests.filter((m) => m.platform).map((m) => formatPlatform(normalizePlatform(m.platform!))))].sort().join(', ')
        throw usageError(`${what} has no manifest for ${matcher.description} (it has ${has || 'none'}); choose one with --platform or use --all-platforms`)
      }
    } else {
      throw usageError(`${what}: its target has media type ${target.mediaType}, not an image manifest or index`)
    }

    indexEntries.push({
      ...target,
      annotations: {...target.annotations, [ANNOTATION.imageName]: record.name, [ANNOTATION.refName]: referenceObject(record.name) || record.name},
    })
    images.push({name: record.name, mediaType: target.mediaType, digest: target.digest, manifest: dockerManifest?.digest})
    if (dockerManifest) {
      let entry = manifests.get(dockerManifest.digest)
      if (!entry) {
        entry = {manifest: parseManifest(await bytes(dockerManifest), `${what}: manifest ${dockerManifest.digest}`), names: []}
        manifests.set(dockerManifest.digest, entry)
      }
      const familiar = familiarName(record.name)
      if (familiar) entry.names.push(familiar)
    }
  }

  const files: ExportPlan['files'] = [
    {name: 'oci-layout', data: Buffer.from(JSON.stringify({imageLayoutVersion: '1.0.0'})), mode: 0o444},
    {name: 'index.json', data: Buffer.from(JSON.stringify({schemaVersion: 2, manifests: indexEntries.map(descriptorJson)})), mode: 0o644},
  ]
  if (manifests.size > 0) {
    const docker = [...manifests.values()].map(({manifest, names}) => ({
      Config: blobPath(manifest.config.digest),
      RepoTags: names.length > 0 ? names : null,
      Layers: manifest.layers.map((l) => blobPath(l.digest)),
    }))
    files.push({name: 'manifest.json', data: Buffer.from(JSON.stringify(docker)), mode: 0o644})
  }
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
  const size = sorted.reduce((n, b) => n + b.size, 0) + files.reduce((n, f) => n + f.data.length, 0)
  return {images, blobs: sorted, size, files}
}

/** Where the archive's bytes go; resolves once the chunk may be reused (written, or buffered with room left). */
export type ArchiveSink = (chunk: Buffer) => Promise<void>

interface Entry {
  name: string
  mode: number
  type: 'file' | 'directory'
  size: number
  data?: () => AsyncIterable<Buffer>
}

/** Writes the archive: tar-stream packs, every blob read from the store as it goes. */
export async function writeArchive(client: ContainerdClient, plan: ExportPlan, sink: ArchiveSink, signal?: AbortSignal): Promise<void> {
  const entries: Entry[] = plan.files.map((f) => ({
    name: f.name,
    mode: f.mode,
    type: 'file',
    size: f.data.length,
    data: async function* () {
      yield f.data
    },
  }))
  if (plan.blobs.length > 0) {
    entries.push({name: 'blobs/', mode: 0o755, type: 'directory', size: 0}, {name: 'blobs/sha256/', mode: 0o755, type: 'directory', size: 0})
    for (const blob of plan.blobs)
      entries.push({name: blobPath(blob.digest), mode: 0o444, type: 'file', size: blob.size, data: () => blobData(client, blob, signal)})
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

  // Loaded here, not with the bundle: only an export writes tar.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pack = (require('tar-stream') as typeof TarStream).pack()
  pack.on('error', () => undefined)
  // The writer (sink) failing stops the reader (the store) and the other way round.
  const stop = new AbortController()
  const stopped = new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(stop.signal.reason), {once: true}))
  stopped.catch(() => undefined)
  const consume = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) await sink(chunk)
  })().catch((error: unknown) => {
    stop.abort(error)
    throw error
  })
  consume.catch(() => undefined) // awaited at the end; `stopped` carries its failure meanwhile
  try {
    for (const entry of entries) {
      signal?.throwIfAborted()
      let settle!: (error?: Error | null) => void
      const written = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())))
      written.catch(() => undefined) // awaited below; it may fail first (an abort destroys the entry)
      const header = {name: entry.name, mode: entry.mode, type: entry.type, size: entry.size, mtime: new Date(0), uid: 0, gid: 0}
      const sinkEntry = pack.entry(header, (error) => settle(error))
      // Its failures come through the callback (and an abort through our own calls): no 'error' may go unheard.
      sinkEntry.on('error', () => undefined)
      if (entry.data) {
        for await (const chunk of entry.data()) {
          if (!sinkEntry.write(chunk)) await Promise.race([new Promise<void>((r) => sinkEntry.once('drain', () => r())), stopped])
        }
      }
      sinkEntry.end(undefined as unknown as () => void)
      await Promise.race([written, stopped])
    }
    pack.finalize()
    await consume
  } catch (error) {
    pack.destroy()
    await consume.catch(() => undefined)
    throw error
  }
}

/** One blob from the store, its digest checked (a store that answers other bytes fails the export). */
async function* blobData(client: ContainerdClient, blob: Descriptor, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const hash = sha256Hash()
  let read = 0
  for await (const response of client.service(ContentDefinition).read({digest: blob.digest, offset: 0n, size: 0n}, {signal})) {
    const data = Buffer.from(response.data.buffer, response.data.byteOffset, response.data.byteLength)
    hash.update(data)
    read += data.length
    yield data
  }
  const digest = `sha256:${hash.digest('hex')}`
  if (digest !== blob.digest || read !== blob.size)
    throw new CtrError('internal', `blob ${blob.digest} read from the content store has ${read} bytes and digest ${digest}`)
}

const TEMP_MARK = '.ctr-export-'

/**
 * Writes the archive to `file` through a temporary in the same directory, renamed over it at the end;
 * removed on failure, interrupt or exit. FILE may be anything but a directory; a symlink at FILE is
 * replaced, never followed.
 */
export async function exportToFile(client: ContainerdClient, plan: ExportPlan, file: string, signal?: AbortSignal): Promise<void> {
  const path = resolve(file)
  const dir = dirname(path)
  const base = basename(path)
  const existing = await lstat(path).catch(() => undefined)
  if (existing?.isDirectory()) throw usageError(`cannot write the archive to ${file}: it is a directory`)
  await removeDeadTemporaries(dir, base)
  const owner = ownerToken() || 'x'
  const temp = join(dir, `.${base}${TEMP_MARK}${owner}-${randomHex(4)}`)
  let handle
  try {
    handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o644)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw usageError(`cannot write the archive to ${file}: directory ${dir} does not exist`)
    throw new CtrError(
      code === 'EACCES' || code === 'EPERM' ? 'permission-denied' : 'usage',
      `cannot write the archive to ${file}: ${(error as Error).message}`,
    )
  }
  // A second Ctrl-C exits at once: the temporary goes then too.
  const removeAtExit = () => {
    try {
      unlinkSync(temp)
    } catch {
      // gone already
    }
  }
  process.on('exit', removeAtExit)
  try {
    const fh = handle
    await writeArchive(
      client,
      plan,
      async (chunk) => {
        for (let at = 0; at < chunk.length;) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten
      },
      signal,
    )
    await fh.close()
    signal?.throwIfAborted()
    await rename(temp, path)
  } catch (error) {
    await handle.close().catch(() => undefined)
    await unlink(temp).catch(() => undefined)
    const code = (error as NodeJS.ErrnoException).code
    if (typeof code === 'string' && !(error instanceof CtrError))
      throw new CtrError('usage', `cannot write the archive to ${file}: ${(error as Error).message}`, {cause: error})
    throw error
  } finally {
    process.off('exit', removeAtExit)
  }
}

/** Temporaries of FILE whose ctr died (SIGKILL): regular files of ours named by a dead owner. */
async function removeDeadTemporaries(dir: string, base: string): Promise<void> {
  const prefix = `.${base}${TEMP_MARK}`
  const names = await readdir(dir).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const owner = name.slice(prefix.length).replace(/-[0-9a-f]+$/, '')
    if (ownerState(owner) !== 'dead') continue
    const info = await lstat(join(dir, name)).catch(() => undefined)
    if (info?.isFile() && info.uid === (process.geteuid?.() ?? 0)) await unlink(join(dir, name)).catch(() => undefined)
  }
}
