/**
 * `images prune`: removing images no container was created from. Which ones, as nerdctl's `image prune`
 * decides (pkg/imgutil FilterDangling): by default only "dangling" images, those whose name is not a
 * reference with a tag (a digest-only name `repo@sha256:...`, or a name that is no Docker reference at all,
 * e.g. CRI's or a build tool's leftovers); with `all`, every image no container's record names (Go ctr
 * and nerdctl record the image name on the container). Unlike nerdctl, dangling images a container uses
 * are kept too (as docker does). Records only: content and snapshots go with the garbage collection the
 * last removal waits for.
 */
import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {ImagesDefinition} from '../../gen/containerd/services/images/v1/images'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {normalizedName} from './lookup'
import {containersUsing} from './store'

export interface PruneOptions {
  /** Every unused image, not only dangling ones. */
  all?: boolean
  signal?: AbortSignal
}

export interface PrunableImage {
  name: string
  digest: string
}

/** Whether a name is a Docker reference with a tag (`busybox`, `a/b:1`; not `a/b@sha256:...`, not `<none>`). */
export function isTagged(name: string): boolean {
  if (!normalizedName(name)) return false
  const withoutDigest = name.split('@')[0]
  if (withoutDigest !== name) return /:[\w][\w.-]*$/.test(withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1))
  return true
}

/** The images prune would remove now. */
export async function prunableImages(client: ContainerdClient, options: PruneOptions = {}): Promise<PrunableImage[]> {
  const {signal} = options
  const [{images}, {containers}] = await Promise.all([
    client.service(ImagesDefinition).list({filters: []}, {signal}),
    client.service(ContainersDefinition).list({filters: []}, {signal}),
  ])
  const used = new Set(containers.map((c) => c.image).filter(Boolean))
  return images
    .filter((image) => !used.has(image.name) && (options.all || !isTagged(image.name)))
    .map((image) => ({name: image.name, digest: image.target?.digest ?? ''}))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Removes the images listed (prunableImages' answer), each unless a container was created from it meanwhile;
 * the garbage collection runs once, after the last. Resolves with those removed (gone already: not listed).
 */
export async function removeImages(client: ContainerdClient, list: readonly PrunableImage[], signal?: AbortSignal): Promise<PrunableImage[]> {
  const removed: PrunableImage[] = []
  const images = client.service(ImagesDefinition)
  for (const [i, image] of list.entries()) {
    const last = i === list.length - 1
    if ((await containersUsing(client, image.name, signal)).length > 0) continue
    try {
      await images.delete({name: image.name, sync: last}, {signal, timeoutMs: last ? null : undefined})
      removed.push(image)
    } catch (error) {
      if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
    }
  }
  return removed
}
