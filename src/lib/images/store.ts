/**
 * The image store: listing images with what Go ctr's `images ls` shows (size for this machine's platform,
 * the platforms an image has), and removing them, refusing an image a container was created from.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {ImagesDefinition, type Image} from '../../gen/containerd/services/images/v1/images'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError, optionError} from '../containerd/errors'
import {readBlob} from './content'
import {configPlatform, parseConfig, parseIndex, parseManifest} from './layout'
import {isConfigType, isIndexType, isManifestType} from './media-types'
import {defaultMatcher, formatPlatform, normalizePlatform, type PlatformMatcher} from './platform'

export interface ImageInfo {
  name: string
  /** The target's media type (index or manifest). */
  mediaType: string
  digest: string
  /** Bytes of the image for this machine's platform: index, one manifest, its config and layers (Go ctr's SIZE). */
  size: number
  /** Platforms the image has, `os/arch[/variant]`, sorted. */
  platforms: string[]
  labels: Record<string, string>
  createdAt?: Date
  updatedAt?: Date
}

export interface ListImagesOptions {
  /** containerd filters, passed to Images.List as they are (`name~=busybox`, `labels."k"==v`); ORed. */
  filters?: readonly string[]
  signal?: AbortSignal
  /** Skip reading manifests for SIZE and PLATFORMS (quiet listings). */
  namesOnly?: boolean
  platform?: PlatformMatcher
}

/** How many images are looked into at once (each is a few Content.Read calls). */
const CONCURRENCY = 8

export async function listImages(client: ContainerdClient, options: ListImagesOptions = {}): Promise<ImageInfo[]> {
  const call = {signal: options.signal}
  const {images} = await client.service(ImagesDefinition).list({filters: [...(options.filters ?? [])]}, call)
  const infos: ImageInfo[] = images.map((image) => ({
    name: image.name,
    mediaType: image.target?.mediaType ?? '',
    digest: image.target?.digest ?? '',
    size: 0,
    platforms: [],
    labels: image.labels,
    createdAt: image.createdAt,
    updatedAt: image.updatedAt,
  }))
  if (options.namesOnly) return infos
  const matcher = options.platform ?? defaultMatcher()
  const blobs = new BlobCache(client, call)
  let next = 0
  const worker = async () => {
    while (next < images.length) {
      const i = next++
      const target = images[i].target
      if (!target) continue
      const root = {mediaType: target.mediaType, digest: target.digest, size: Number(target.size)}
      // Go ctr logs what it cannot read and shows what it has; so does this (size 0, platforms '-').
      infos[i].size = await imageSize(blobs, root, matcher).catch(() => 0)
      infos[i].platforms = await imagePlatforms(blobs, root).catch(() => [])
    }
  }
  await Promise.all(Array.from({length: Math.min(CONCURRENCY, images.length)}, worker))
  return infos
}

interface Desc {
  mediaType: string
  digest: string
  size: number
  platform?: {os: string; architecture: string; variant?: string}
}

class BlobCache {
  private readonly cache = new Map<string, Promise<Buffer>>()
  constructor(
    private readonly client: ContainerdClient,
    private readonly call: CallOptions,
  ) {}

  get(digest: string): Promise<Buffer> {
    let p = this.cache.get(digest)
    if (!p) {
      p = readBlob(this.client, digest, this.call)
      this.cache.set(digest, p)
    }
    return p
  }
}

/** images.Size with LimitManifests(1): the target, the best manifest for the platform, its config and layers. */
async function imageSize(blobs: BlobCache, desc: Desc, matcher: PlatformMatcher): Promise<number> {
  let size = desc.size
  if (isIndexType(desc.mediaType)) {
    const index = parseIndex(await blobs.get(desc.digest), desc.digest)
    const children = index.manifests
      .filter((m) => !m.platform || matcher.match(m.platform))
      .sort((a, b) => (a.platform ? matcher.rank(a.platform) : Number.MAX_SAFE_INTEGER) - (b.platform ? matcher.rank(b.platform) : Number.MAX_SAFE_INTEGER))
    if (children[0]) size += await imageSize(blobs, children[0], matcher)
  } else if (isManifestType(desc.mediaType)) {
    const manifest = parseManifest(await blobs.get(desc.digest), desc.digest)
    size += manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)
  }
  return size
}

/** images.Platforms: a descriptor's platform where it has one, else its config's. */
async function imagePlatforms(blobs: BlobCache, root: Desc): Promise<string[]> {
  const found = new Set<string>()
  const walk = async (desc: Desc): Promise<void> => {
    if (desc.platform) {
      found.add(formatPlatform(normalizePlatform(desc.platform)))
      return
    }
    if (isIndexType(desc.mediaType)) {
      for (const m of parseIndex(await blobs.get(desc.digest), desc.digest).manifests) await walk(m)
    } else if (isManifestType(desc.mediaType)) {
      await walk(parseManifest(await blobs.get(desc.digest), desc.digest).config)
    } else if (isConfigType(desc.mediaType)) {
      found.add(formatPlatform(configPlatform(parseConfig(await blobs.get(desc.digest), desc.digest))))
    }
  }
  await walk(root)
  return [...found].sort()
}

/** A value for a containerd filter, quoted (names have `/` and `:`, which the filter grammar treats specially). */
export function filterValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** IDs of the namespace's containers created from the image (Containers.List `image==NAME`). */
export async function containersUsing(client: ContainerdClient, name: string, signal?: AbortSignal): Promise<string[]> {
  const {containers} = await client.service(ContainersDefinition).list({filters: [`image==${filterValue(name)}`]}, {signal})
  return containers.map((c) => c.id).sort()
}

export interface RemoveImageOptions {
  /** Remove it even if containers were created from it (they keep their snapshots; GC keeps what they use). */
  force?: boolean
  /** Wait for the garbage collection the removal triggers. */
  sync?: boolean
  signal?: AbortSignal
}

/** Removes one image record; its content and snapshots go with the next garbage collection. */
export async function removeImage(client: ContainerdClient, name: string, options: RemoveImageOptions = {}): Promise<{name: string; digest: string}> {
  const images = client.service(ImagesDefinition)
  let image: Image | undefined
  try {
    image = (await images.get({name}, {signal: options.signal})).image
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('not-found', `image "${name}" not found in namespace "${client.namespace}"`)
    throw error
  }
  if (!options.force) {
    const users = await containersUsing(client, name, options.signal)
    if (users.length > 0) {
      const list = users.length > 3 ? `${users.slice(0, 3).join(', ')} and ${users.length - 3} more` : users.join(', ')
      throw optionError(
        'failed-precondition',
        (o) => `image "${name}" is used by container${users.length > 1 ? 's' : ''} ${list} (delete them first, or use ${o('force')})`,
      )
    }
  }
  await images.delete({name, sync: options.sync ?? false}, {signal: options.signal, timeoutMs: options.sync ? null : undefined})
  return {name, digest: image?.target?.digest ?? ''}
}
