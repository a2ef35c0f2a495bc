/**
 * `images inspect`: what an image is for one platform: its record's target, the manifest chosen for the
 * platform (an index: the best match, as a start would choose), the config's runtime settings and history,
 * the layers with their sizes and diff IDs, and whether its chain is unpacked in the snapshotter (the
 * committed snapshot named by the top chain ID, which a container's snapshot is prepared on).
 */
import type {ContainerdClient} from '../containerd/client'
import {usageError} from '../containerd/errors'
import {type Descriptor, readBlob} from './content'
import {configPlatform, parseConfig, parseIndex, parseManifest} from './layout'
import {requireImage} from './lookup'
import {isIndexType, isManifestType} from './media-types'
import {defaultMatcher, formatPlatform, normalizePlatform, parsePlatform, strictMatcher} from './platform'
import {chainIds, DEFAULT_SNAPSHOTTER, snapshotExists} from './unpack'

export interface InspectOptions {
  platform?: string
  snapshotter?: string
  signal?: AbortSignal
}

export interface ImageLayer {
  mediaType: string
  digest: string
  size: number
  /** The uncompressed digest (the config's rootfs.diff_ids entry). */
  diffId?: string
}

export interface ImageInspection {
  name: string
  target: Descriptor
  labels: Record<string, string>
  createdAt?: Date
  updatedAt?: Date
  /** The platform of the manifest described (`linux/amd64`). */
  platform: string
  /** Platforms the image has (an index's entries), sorted. */
  platforms: string[]
  manifest: {descriptor: Descriptor; content: unknown}
  config: {
    digest: string
    created?: string
    author?: string
    architecture?: string
    os?: string
    variant?: string
    Entrypoint?: string[] | null
    Cmd?: string[] | null
    Env?: string[] | null
    WorkingDir?: string
    User?: string
    ExposedPorts?: Record<string, unknown>
    StopSignal?: string
    Labels?: Record<string, string> | null
    Volumes?: Record<string, unknown>
  }
  history: unknown[]
  layers: ImageLayer[]
  /** Config, manifest and layers (compressed), as `images ls` counts them for this platform. */
  size: number
  unpacked: {snapshotter: string; chainId: string; unpacked: boolean}
}

const RUNTIME_KEYS = ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'StopSignal', 'Labels', 'Volumes'] as const

export async function inspectImage(client: ContainerdClient, ref: string, options: InspectOptions = {}): Promise<ImageInspection> {
  const {signal} = options
  const call = {signal}
  const record = await requireImage(client, ref, signal)
  const what = `image ${record.name}`
  const target: Descriptor = {mediaType: record.target!.mediaType, digest: record.target!.digest, size: Number(record.target!.size)}
  if (Object.keys(record.target!.annotations).length > 0) target.annotations = {...record.target!.annotations}
  const matcher = options.platform ? strictMatcher(parsePlatform(options.platform)) : defaultMatcher()

  // Down the indexes to the best manifest for the platform.
  const platforms = new Set<string>()
  let chosen: Descriptor | undefined
  let size = 0
  for (let d: Descriptor = target, depth = 0; ; depth++) {
    if (depth > 4) throw usageError(`${what}: indexes nested too deeply`)
    size += d.size
    if (isManifestType(d.mediaType)) {
      chosen = d
      break
    }
    if (!isIndexType(d.mediaType)) throw usageError(`${what}: ${d.digest} has media type ${d.mediaType}, not an image manifest or index`)
    const index = parseIndex(await readBlob(client, d.digest, call), `${what}: index ${d.digest}`)
    for (const m of index.manifests) if (m.platform) platforms.add(formatPlatform(normalizePlatform(m.platform)))
    const rank = (m: Descriptor) => (m.platform ? matcher.rank(m.platform) : Number.MAX_SAFE_INTEGER - 1)
    const next = index.manifests.filter((m) => !m.platform || matcher.match(m.platform)).sort((a, b) => rank(a) - rank(b))[0]
    if (!next) {
      throw usageError(`${what} has no manifest for ${matcher.description} (it has ${[...platforms].sort().join(', ') || 'none'}); choose one with --platform`)
    }
    d = next
  }
  const manifestBytes = await readBlob(client, chosen.digest, call)
  const manifest = parseManifest(manifestBytes, `${what}: manifest ${chosen.digest}`)
  const configBytes = await readBlob(client, manifest.config.digest, call)
  const config = parseConfig(configBytes, `${what}: config ${manifest.config.digest}`)
  const raw = JSON.parse(configBytes.toString('utf8')) as Record<string, unknown>
  const platform = chosen.platform ? normalizePlatform(chosen.platform) : configPlatform(config)
  if (platforms.size === 0) platforms.add(formatPlatform(platform))
  if (!chosen.platform && !matcher.match(platform) && options.platform)
    throw usageError(`${what} has no manifest for ${matcher.description} (it has ${formatPlatform(platform)})`)

  const diffIds = config.rootfs?.diff_ids ?? []
  const layers = manifest.layers.map((l, i): ImageLayer => ({mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: diffIds[i]}))
  size += manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)

  const snapshotter = options.snapshotter || DEFAULT_SNAPSHOTTER
  const chain = chainIds(diffIds)
  const top = chain.at(-1) ?? ''
  const unpacked = top !== '' && diffIds.length === manifest.layers.length && (await snapshotExists(client, snapshotter, top, call))

  const runtime = config.config ?? {}
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  const picked: ImageInspection['config'] = {
    digest: manifest.config.digest,
    created: str(raw.created),
    author: str(raw.author),
    architecture: config.architecture,
    os: config.os,
    variant: config.variant,
  }
  for (const key of RUNTIME_KEYS) if (runtime[key] !== undefined) (picked as Record<string, unknown>)[key] = runtime[key]

  return {
    name: record.name,
    target,
    labels: record.labels,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    platform: formatPlatform(platform),
    platforms: [...platforms].sort(),
    manifest: {descriptor: chosen, content: JSON.parse(manifestBytes.toString('utf8'))},
    config: picked,
    history: Array.isArray(raw.history) ? raw.history : [],
    layers,
    size,
    unpacked: {snapshotter, chainId: top, unpacked},
  }
}
