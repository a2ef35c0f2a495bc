/**
 * Walking an image for a platform, the same way for every source of blobs (an archive being imported, a
 * registry being pulled from): its index(es) down to the manifests that match, every blob they name
 * required, and the `containerd.io/gc.ref.content.*` labels each parent needs to keep its children.
 */
import {optionError, usageError} from '../containerd/errors'
import type {Descriptor} from './content'
import {configPlatform, type ImageConfig, type ImageManifest, parseIndex, parseManifest} from './layout'
import {childrenGcLabels, isIndexType, isManifestType} from './media-types'
import {formatPlatform, type Platform, type PlatformMatcher} from './platform'

/** Where an image's blobs come from while it is walked. */
export interface ImageBlobs {
  /** Where a missing blob was looked for, for messages: `... is not in <label>`. */
  readonly label: string
  /** Whether the blob can be had (it is there, or will be fetched). */
  has(descriptor: Descriptor): Promise<boolean>
  /** A small blob (index, manifest) whole. */
  bytes(descriptor: Descriptor): Promise<Buffer>
  /** An image config, parsed (once). */
  config(descriptor: Descriptor): Promise<ImageConfig>
}

export interface Candidate {
  name: string
  target: Descriptor
}

export interface Resolved {
  candidate: Candidate
  /** The manifests of the image for the platform(s), with their platform. */
  manifests: Array<{descriptor: Descriptor; manifest: ImageManifest; platform: Platform}>
}

/**
 * Walks one image for the platform: the manifests it resolves to (each blob present), and the GC labels
 * for its index and manifests (collected in `labels`, keyed by parent digest).
 */
export async function resolveImage(
  store: ImageBlobs,
  candidate: Candidate,
  matcher: PlatformMatcher,
  labels: Map<string, Record<string, string>>,
): Promise<Resolved> {
  const manifests: Resolved['manifests'] = []
  const seenPlatforms: Platform[] = []
  const what = `image ${candidate.name}`

  const requireBlob = async (d: Descriptor, role: string) => {
    if (!(await store.has(d))) throw usageError(`${what}: ${role} ${d.digest} is not in ${store.label}`)
  }

  const walk = async (d: Descriptor, depth: number): Promise<void> => {
    if (depth > 4) throw usageError(`${what}: indexes nested too deeply`)
    if (isIndexType(d.mediaType)) {
      await requireBlob(d, 'index')
      const index = parseIndex(await store.bytes(d), `${what}: index ${d.digest}`)
      const children: Descriptor[] = []
      for (const child of index.manifests) {
        if (child.platform) {
          seenPlatforms.push(child.platform)
          if (!matcher.match(child.platform)) continue
        }
        children.push(child)
      }
      const kept: Descriptor[] = []
      for (const child of children) if (await walkChild(child, depth + 1)) kept.push(child)
      if (kept.length > 0) labels.set(d.digest, {...labels.get(d.digest), ...childrenGcLabels(kept)})
      return
    }
    await walkChild(d, depth)
  }

  /** A manifest or index below (or at) the top; false when it is a manifest of another platform. */
  const walkChild = async (d: Descriptor, depth: number): Promise<boolean> => {
    if (isIndexType(d.mediaType)) {
      await walk(d, depth)
      return true
    }
    if (!isManifestType(d.mediaType)) throw usageError(`${what}: ${d.digest} has media type ${d.mediaType}, not an image manifest or index`)
    await requireBlob(d, 'manifest')
    const manifest = parseManifest(await store.bytes(d), `${what}: manifest ${d.digest}`)
    await requireBlob(manifest.config, `config of manifest ${d.digest}`)
    const platform = d.platform ?? configPlatform(await store.config(manifest.config))
    if (!d.platform) seenPlatforms.push(platform)
    if (!matcher.match(platform)) return false
    for (const [i, layer] of manifest.layers.entries()) await requireBlob(layer, `layer ${i + 1} of manifest ${d.digest}`)
    labels.set(d.digest, childrenGcLabels([manifest.config, ...manifest.layers]))
    manifests.push({descriptor: d, manifest, platform})
    return true
  }

  await walk(candidate.target, 0)
  if (manifests.length === 0) {
    const has = [...new Set(seenPlatforms.map((p) => formatPlatform(p)))].sort().join(', ') || 'none'
    throw optionError(
      'usage',
      (o) => `${what} has no manifest for ${matcher.description} (it has ${has}); choose one with ${o('platform')} or use ${o('allPlatforms')}`,
    )
  }
  return {candidate, manifests}
}
