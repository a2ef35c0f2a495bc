/**
 * The JSON of image archives and images, parsed and checked: OCI image layout (`oci-layout`, `index.json`),
 * `docker save`'s `manifest.json` (turned into Docker schema 2 manifests and an OCI index, as Go ctr's
 * images/archive importer does, so the digests come out the same), manifests, indexes and configs.
 */
import {CtrError} from '../containerd/errors'
import type {Descriptor} from './content'
import {sha256Digest} from './digest'
import {MEDIA_TYPE, isIndexType, isManifestType} from './media-types'
import {dockerTagAnnotations} from './naming'
import {normalizePlatform, type Platform} from './platform'

export interface ImageIndex {
  schemaVersion: number
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageManifest {
  schemaVersion: number
  mediaType?: string
  config: Descriptor
  layers: Descriptor[]
  annotations?: Record<string, string>
}

export interface ImageConfig {
  os?: string
  architecture?: string
  variant?: string
  rootfs?: {type?: string; diff_ids?: string[]}
  config?: Record<string, unknown>
}

export interface DockerArchiveManifest {
  Config: string
  RepoTags?: string[] | null
  Layers: string[]
}

const DIGEST = /^sha256:[a-f0-9]{64}$/
const bad = (what: string, why: string) => new CtrError('usage', `${what}: ${why}`)

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (error) {
    throw bad(what, `not valid JSON (${(error as Error).message})`)
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined
  const out: Record<string, string> = {}
  for (const [k, value] of Object.entries(v)) if (typeof value === 'string') out[k] = value
  return out
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw bad(what, 'a descriptor must be an object')
  const {mediaType, digest, size} = v
  if (typeof mediaType !== 'string' || !mediaType) throw bad(what, 'descriptor has no mediaType')
  if (typeof digest !== 'string' || !DIGEST.test(digest)) throw bad(what, `descriptor digest ${JSON.stringify(digest)} is not sha256:<64 hex>`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(what, `descriptor ${digest} has an invalid size`)
  const desc: Descriptor = {mediaType, digest, size}
  const annotations = stringMap(v.annotations)
  if (annotations && Object.keys(annotations).length > 0) desc.annotations = annotations
  if (isObject(v.platform) && typeof v.platform.os === 'string' && typeof v.platform.architecture === 'string') {
    desc.platform = {os: v.platform.os, architecture: v.platform.architecture}
    if (typeof v.platform.variant === 'string' && v.platform.variant) desc.platform.variant = v.platform.variant
  }
  return desc
}

/** `oci-layout`: only version 1.0.0 exists (Go ctr rejects others). */
export function parseOciLayout(bytes: Uint8Array, what: string): void {
  const v = parseJson(bytes, what)
  const version = isObject(v) ? v.imageLayoutVersion : undefined
  if (version !== '1.0.0') throw bad(what, `unsupported OCI image layout version ${JSON.stringify(version)} (ctr reads 1.0.0)`)
}

export function parseIndex(bytes: Uint8Array, what: string): ImageIndex {
  const v = parseJson(bytes, what)
  if (!isObject(v) || !Array.isArray(v.manifests)) throw bad(what, 'not an image index (no manifests list)')
  if (v.mediaType !== undefined && !isIndexType(String(v.mediaType))) throw bad(what, `media type ${v.mediaType} is not an image index`)
  return {
    schemaVersion: Number(v.schemaVersion),
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : undefined,
    manifests: v.manifests.map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`)),
    annotations: stringMap(v.annotations),
  }
}

export function parseManifest(bytes: Uint8Array, what: string): ImageManifest {
  const v = parseJson(bytes, what)
  if (!isObject(v) || !isObject(v.config) || !Array.isArray(v.layers)) throw bad(what, 'not an image manifest (no config and layers)')
  if (v.mediaType !== undefined && !isManifestType(String(v.mediaType))) throw bad(what, `media type ${v.mediaType} is not an image manifest`)
  return {
    schemaVersion: Number(v.schemaVersion),
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : undefined,
    config: parseDescriptor(v.config, `${what} config`),
    layers: v.layers.map((l, i) => parseDescriptor(l, `${what} layers[${i}]`)),
  }
}

export function parseConfig(bytes: Uint8Array, what: string): ImageConfig {
  const v = parseJson(bytes, what)
  if (!isObject(v)) throw bad(what, 'an image config must be a JSON object')
  const rootfs = isObject(v.rootfs) ? v.rootfs : undefined
  const diffIds = Array.isArray(rootfs?.diff_ids) ? rootfs.diff_ids : undefined
  if (diffIds)
    for (const d of diffIds) if (typeof d !== 'string' || !DIGEST.test(d)) throw bad(what, `rootfs.diff_ids has ${JSON.stringify(d)}, not sha256:<64 hex>`)
  return {
    os: typeof v.os === 'string' ? v.os : undefined,
    architecture: typeof v.architecture === 'string' ? v.architecture : undefined,
    variant: typeof v.variant === 'string' ? v.variant : undefined,
    rootfs: rootfs ? {type: typeof rootfs.type === 'string' ? rootfs.type : undefined, diff_ids: diffIds as string[] | undefined} : undefined,
    config: isObject(v.config) ? v.config : undefined,
  }
}

/** The platform an image config declares (Go's images.Platforms reads only os and architecture). */
export function configPlatform(config: ImageConfig): Platform {
  return normalizePlatform({os: config.os ?? '', architecture: config.architecture ?? ''})
}

/** `docker save`'s manifest.json: one entry per image, with paths into the archive. */
export function parseDockerManifest(bytes: Uint8Array, what: string): DockerArchiveManifest[] {
  const v = parseJson(bytes, what)
  if (!Array.isArray(v)) throw bad(what, 'not a docker save manifest (a JSON array of {Config, RepoTags, Layers})')
  return v.map((entry, i) => {
    if (!isObject(entry) || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers) || !entry.Layers.every((l) => typeof l === 'string')) {
      throw bad(what, `entry ${i} needs Config (a path) and Layers (paths)`)
    }
    const tags = entry.RepoTags
    if (tags !== undefined && tags !== null && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')))
      throw bad(what, `entry ${i}: RepoTags must be strings`)
    return {Config: entry.Config, RepoTags: tags as string[] | null | undefined, Layers: entry.Layers as string[]}
  })
}

/** A JSON blob the importer makes (manifest or index), with the descriptor that names it. */
export interface MadeBlob {
  bytes: Buffer
  descriptor: Descriptor
}

export function makeBlob(value: unknown, mediaType: string): MadeBlob {
  // Go's json.Marshal of these structs: same key order, no spaces; nothing here needs HTML escaping.
  const bytes = Buffer.from(JSON.stringify(value))
  return {bytes, descriptor: {mediaType, digest: sha256Digest(bytes), size: bytes.length}}
}

/** A descriptor as Go serializes ocispec.Descriptor (field order: mediaType, digest, size, annotations, platform). */
export function descriptorJson(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = {mediaType: d.mediaType, digest: d.digest, size: d.size}
  // Go marshals maps with sorted keys.
  if (d.annotations && Object.keys(d.annotations).length > 0)
    out.annotations = Object.fromEntries(Object.entries(d.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  if (d.platform) {
    const p: Record<string, unknown> = {architecture: d.platform.architecture, os: d.platform.os}
    if (d.platform.variant) p.variant = d.platform.variant
    out.platform = p
  }
  return out
}

/** What the importer knows of a file of a Docker archive: its digest and size, and its first bytes. */
export interface ArchiveBlob {
  digest: string
  size: number
  head: Buffer
}

/** Whether a layer's first bytes are gzip's or zstd's (Go's compression.DetectCompression); else a plain tar. */
export function isCompressed(head: Buffer): boolean {
  const gzip = head[0] === 0x1f && head[1] === 0x8b
  const zstd = head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd
  return gzip || zstd
}

/**
 * A Docker archive's images as Go ctr makes them: for each manifest.json entry, a Docker schema 2 manifest
 * (config media type Docker's; each layer gzip or plain by its first bytes), then one index entry per
 * RepoTag (named `docker.io/...`, platform from the config), and the index over them.
 */
export function dockerImages(
  entries: readonly DockerArchiveManifest[],
  file: (path: string) => ArchiveBlob | undefined,
  config: (digest: string) => ImageConfig,
): {manifests: MadeBlob[]; index: MadeBlob} {
  const manifests: MadeBlob[] = []
  const indexEntries: Descriptor[] = []
  for (const entry of entries) {
    const cfg = file(entry.Config)
    if (!cfg) throw new CtrError('usage', `manifest.json names image config ${entry.Config}, which the archive does not have`)
    const layers = entry.Layers.map((path): Descriptor => {
      const layer = file(path)
      if (!layer) throw new CtrError('usage', `manifest.json names layer ${path}, which the archive does not have`)
      return {mediaType: isCompressed(layer.head) ? MEDIA_TYPE.dockerLayerGzip : MEDIA_TYPE.dockerLayer, digest: layer.digest, size: layer.size}
    })
    const made = makeBlob(
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.dockerManifest,
        config: descriptorJson({mediaType: MEDIA_TYPE.dockerConfig, digest: cfg.digest, size: cfg.size}),
        layers: layers.map(descriptorJson),
      },
      MEDIA_TYPE.dockerManifest,
    )
    manifests.push(made)
    const platform = configPlatform(config(cfg.digest))
    const base: Descriptor = {...made.descriptor, platform}
    if (!entry.RepoTags || entry.RepoTags.length === 0) indexEntries.push(base)
    for (const tag of entry.RepoTags ?? []) indexEntries.push({...base, annotations: dockerTagAnnotations(tag)})
  }
  const index = makeBlob({schemaVersion: 2, manifests: indexEntries.map(descriptorJson)}, MEDIA_TYPE.ociIndex)
  return {manifests, index}
}
