/**
 * Image archives for tests, written from scratch (no registry, no docker): layers are tars made with
 * tar-stream (a busybox rootfs from the host's static /bin/busybox, or small files), plain or gzip, put
 * together as an OCI image layout or as `docker save` writes it.
 *
 *   const img = await buildImage({layers: [busyboxLayer(), filesLayer({'etc/hello': 'hi\n'})], gzip: true})
 *   await writeOciArchive(path, [{image: img, name: 'example.com/busybox:1'}])
 *   await writeDockerArchive(path, [{image: img, tags: ['busybox:1']}])
 */
import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import {gzipSync} from 'node:zlib'

import * as tar from 'tar-stream'

export interface LayerSpec {
  /** path → file content, or {link: target} for a symlink, or {dir: true} (owner and mode optional). */
  files: Record<string, string | Buffer | {link: string} | {dir: true; uid?: number; gid?: number; mode?: number}>
}

export interface Blob {
  mediaType: string
  digest: string
  size: number
  bytes: Buffer
}

export interface BuiltImage {
  config: Blob
  manifest: Blob
  layers: Blob[]
  /** Uncompressed layer digests (config rootfs.diff_ids). */
  diffIds: string[]
  platform: {os: string; architecture: string; variant?: string}
}

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`

function blob(bytes: Buffer, mediaType: string): Blob {
  return {mediaType, digest: sha256(bytes), size: bytes.length, bytes}
}

/** A busybox rootfs: /bin/busybox with sh, echo, cat, ls, sleep links, /etc/passwd and /etc/group. */
export async function busyboxLayer(): Promise<LayerSpec> {
  const busybox = await readFile('/bin/busybox')
  const files: LayerSpec['files'] = {'bin/': {dir: true}, 'bin/busybox': busybox, 'etc/': {dir: true}, 'tmp/': {dir: true}}
  for (const tool of ['sh', 'echo', 'cat', 'ls', 'sleep', 'id', 'true']) files[`bin/${tool}`] = {link: 'busybox'}
  files['etc/passwd'] = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'
  files['etc/group'] = 'root:x:0:\nnogroup:x:65534:\n'
  return {files}
}

export function filesLayer(files: LayerSpec['files']): LayerSpec {
  return {files}
}

export async function layerTar(spec: LayerSpec): Promise<Buffer> {
  const pack = tar.pack()
  const mtime = new Date(0)
  for (const [name, content] of Object.entries(spec.files)) {
    if (typeof content === 'object' && 'link' in content) pack.entry({name, type: 'symlink', linkname: content.link, mtime})
    else if (typeof content === 'object' && 'dir' in content)
      pack.entry({name, type: 'directory', mode: content.mode ?? 0o755, uid: content.uid ?? 0, gid: content.gid ?? 0, mtime})
    else pack.entry({name, mode: name.startsWith('bin/') ? 0o755 : 0o644, mtime}, content)
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export interface BuildOptions {
  layers: LayerSpec[]
  gzip?: boolean
  platform?: {os: string; architecture: string; variant?: string}
  /** The image config's `config` (Cmd, Env, ...). */
  config?: Record<string, unknown>
  /** Docker media types (as docker save's images are) instead of OCI ones. */
  docker?: boolean
}

export async function buildImage(options: BuildOptions): Promise<BuiltImage> {
  const platform = options.platform ?? {os: 'linux', architecture: 'amd64'}
  const layers: Blob[] = []
  const diffIds: string[] = []
  for (const spec of options.layers) {
    const plain = await layerTar(spec)
    diffIds.push(sha256(plain))
    const mediaType = options.docker
      ? options.gzip
        ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
        : 'application/vnd.docker.image.rootfs.diff.tar'
      : options.gzip
        ? 'application/vnd.oci.image.layer.v1.tar+gzip'
        : 'application/vnd.oci.image.layer.v1.tar'
    layers.push(blob(options.gzip ? gzipSync(plain) : plain, mediaType))
  }
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? {variant: platform.variant} : {}),
        config: options.config ?? {Env: ['PATH=/bin'], Cmd: ['/bin/sh']},
        rootfs: {type: 'layers', diff_ids: diffIds},
      }),
    ),
    options.docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
  )
  const manifestType = options.docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json'
  const desc = (b: Blob) => ({mediaType: b.mediaType, digest: b.digest, size: b.size})
  const manifest = blob(Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: manifestType, config: desc(config), layers: layers.map(desc)})), manifestType)
  return {config, manifest, layers, diffIds, platform}
}

export interface TarFile {
  name: string
  data: Buffer
}

/** Writes the files as a tar (gzip-compressed as a whole with `gzip`), in the order given. */
export async function writeTar(
  path: string,
  files: readonly TarFile[],
  options: {gzip?: boolean; symlinks?: Array<{name: string; target: string}>} = {},
): Promise<void> {
  const pack = tar.pack()
  for (const f of files) pack.entry({name: f.name, mode: 0o644, mtime: new Date(0)}, f.data)
  for (const s of options.symlinks ?? []) pack.entry({name: s.name, type: 'symlink', linkname: s.target, mtime: new Date(0)})
  pack.finalize()
  const {createGzip} = await import('node:zlib')
  if (options.gzip) await pipeline(pack, createGzip(), createWriteStream(path))
  else await pipeline(pack, createWriteStream(path))
}

export interface OciEntry {
  image: BuiltImage | {index: Blob; images: BuiltImage[]}
  /** io.containerd.image.name (and ref.name its tag), unless refName is given instead. */
  name?: string
  /** org.opencontainers.image.ref.name alone (a tag, for --base-name). */
  refName?: string
  /** Put the platform on the index entry. */
  withPlatform?: boolean
}

/** An index over several built images (a multi-platform image), with platforms on its entries. */
export function multiPlatform(images: BuiltImage[]): {index: Blob; images: BuiltImage[]} {
  const index = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: images.map((i) => ({mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.size, platform: i.platform})),
      }),
    ),
    'application/vnd.oci.image.index.v1+json',
  )
  return {index, images}
}

function blobsOf(image: OciEntry['image']): Blob[] {
  if ('index' in image) return [image.index, ...image.images.flatMap(blobsOf)]
  return [image.manifest, image.config, ...image.layers]
}

export interface ArchiveOptions {
  gzip?: boolean
  /** Blob digests to leave out (a manifest naming a blob the archive lacks). */
  omit?: string[]
  /** Replace a blob's content, keeping its name (a digest mismatch). */
  corrupt?: string
}

/** Writes an OCI image layout archive: oci-layout, blobs/sha256/..., index.json last (as skopeo does). */
export async function writeOciArchive(path: string, entries: readonly OciEntry[], options: ArchiveOptions = {}): Promise<void> {
  const seen = new Set<string>()
  const files: TarFile[] = [{name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}')}]
  for (const entry of entries) {
    for (const b of blobsOf(entry.image)) {
      if (seen.has(b.digest) || options.omit?.includes(b.digest)) continue
      seen.add(b.digest)
      const data =
        options.corrupt === b.digest
          ? Buffer.from(
              b.bytes.toString('latin1').replace(/.$/, (c) => (c === 'x' ? 'y' : 'x')),
              'latin1',
            )
          : b.bytes
      files.push({name: `blobs/sha256/${b.digest.slice(7)}`, data})
    }
  }
  const manifests = entries.map((entry) => {
    const top = 'index' in entry.image ? entry.image.index : entry.image.manifest
    const annotations: Record<string, string> = {}
    if (entry.name) {
      annotations['io.containerd.image.name'] = entry.name
      annotations['org.opencontainers.image.ref.name'] = entry.name.replace(/^.*[:@]/, '')
    }
    if (entry.refName) annotations['org.opencontainers.image.ref.name'] = entry.refName
    return {
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.size,
      ...(Object.keys(annotations).length > 0 ? {annotations} : {}),
      ...(entry.withPlatform && !('index' in entry.image) ? {platform: entry.image.platform} : {}),
    }
  })
  files.push({name: 'index.json', data: Buffer.from(JSON.stringify({schemaVersion: 2, manifests}))})
  await writeTar(path, files, {gzip: options.gzip})
}

/** Writes a `docker save` archive: <id>/layer.tar per layer (uncompressed, as docker does), <hex>.json, manifest.json. */
export async function writeDockerArchive(
  path: string,
  entries: ReadonlyArray<{image: BuiltImage; tags: string[]}>,
  options: ArchiveOptions & {symlinkRepeatedLayers?: boolean} = {},
): Promise<void> {
  const files: TarFile[] = []
  const symlinks: Array<{name: string; target: string}> = []
  const manifest = []
  const written = new Map<string, string>()
  for (const {image, tags} of entries) {
    const configName = `${image.config.digest.slice(7)}.json`
    if (!written.has(image.config.digest)) files.push({name: configName, data: image.config.bytes})
    written.set(image.config.digest, configName)
    const layerPaths: string[] = []
    for (const [i, layer] of image.layers.entries()) {
      const id = createHash('sha256').update(`${image.config.digest}-${i}`).digest('hex')
      const name = `${id}/layer.tar`
      layerPaths.push(name)
      if (options.omit?.includes(layer.digest)) continue
      const first = written.get(layer.digest)
      if (first && options.symlinkRepeatedLayers) symlinks.push({name, target: `../${first}`})
      else {
        files.push({name: `${id}/VERSION`, data: Buffer.from('1.0')})
        files.push({name, data: layer.bytes})
        written.set(layer.digest, name)
      }
    }
    manifest.push({Config: configName, RepoTags: tags, Layers: layerPaths})
  }
  files.push({name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest))})
  files.push({name: 'repositories', data: Buffer.from('{}')})
  await writeTar(path, files, {gzip: options.gzip, symlinks})
}
