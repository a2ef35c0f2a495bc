/**
 * Unpacking an image into a snapshotter, layer by layer, as containerd 1.6's image.Unpack and
 * rootfs.ApplyLayer do: the snapshot of layers 0..i is named by their chain ID; one that exists is kept;
 * otherwise Prepare(extract key, parent) → Diff.Apply(layer blob, mounts) (the daemon decompresses and
 * applies it, and returns the uncompressed digest, which must be the config's diff ID) → Commit(chain ID).
 * Each applied layer blob gets `containerd.io/uncompressed`; the config gets
 * `containerd.io/gc.ref.snapshot.<snapshotter>` naming the top of the chain, which keeps the snapshots
 * once the import's lease is gone.
 */
import {DiffDefinition} from '../../gen/containerd/services/diff/v1/diff'
import {SnapshotsDefinition} from '../../gen/containerd/services/snapshots/v1/snapshots'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {type Descriptor, setBlobLabels} from './content'
import {sha256Digest} from './digest'
import {randomHex} from '../random-id'
import {snapshotGcLabel, UNCOMPRESSED_LABEL} from './media-types'
import {formatPlatform, type PlatformMatcher} from './platform'
import type {ImageBlobs, Resolved} from './resolve'

export const DEFAULT_SNAPSHOTTER = 'overlayfs'

/** identity.ChainID: chain[0] = diff[0]; chain[i] = sha256(chain[i-1] + " " + diff[i]). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = []
  for (const diffId of diffIds) {
    const parent = out.at(-1)
    out.push(parent === undefined ? diffId : sha256Digest(`${parent} ${diffId}`))
  }
  return out
}

/** snapshots.UnpackKeyFormat: `extract-<unique> <chain ID>`. */
function extractKey(chainId: string): string {
  const nanos = process.hrtime.bigint() % 1_000_000_000n
  return `extract-${nanos}-${randomHex(3)} ${chainId}`
}

export interface UnpackOptions {
  snapshotter: string
  /** Lease metadata and abort signal. */
  call: CallOptions
  onLayer?: (done: number, total: number) => void
  /**
   * Resolves once the layer blob with this digest is in the content store (a pull's download): each layer is
   * applied as soon as it and those below it are in. Default: all are in already (an import).
   */
  ready?: (digest: string) => Promise<void>
}

export interface UnpackResult {
  snapshotter: string
  /** The chain ID of the top layer: the parent a container's snapshot is prepared on. */
  chainId: string
  /** Layers applied now (the others were there already). */
  applied: number
}

/** Unpacks the layers of one manifest (with its config's diff IDs) and labels what GC must keep. */
export async function unpackLayers(
  client: ContainerdClient,
  image: {name: string; layers: readonly Descriptor[]; diffIds: readonly string[]; config: Descriptor},
  options: UnpackOptions,
): Promise<UnpackResult> {
  if (image.diffIds.length !== image.layers.length) {
    throw new CtrError('usage', `image ${image.name}: its config lists ${image.diffIds.length} diff_ids for ${image.layers.length} layers`)
  }
  const snapshots = client.service(SnapshotsDefinition)
  const {snapshotter, call} = options
  const chain = chainIds(image.diffIds)
  let applied = 0
  for (let i = 0; i < chain.length; i++) {
    const layer = image.layers[i]
    const exists = await snapshotExists(client, snapshotter, chain[i], call)
    // A pull's layer may still be downloading: "unpacking layer i" only once it is in.
    if (!exists) await options.ready?.(layer.digest)
    options.onLayer?.(i, chain.length)
    if (exists) continue
    const parent = i === 0 ? '' : chain[i - 1]
    let key = extractKey(chain[i])
    let mounts
    for (;;) {
      try {
        mounts = (await snapshots.prepare({snapshotter, key, parent, labels: {}}, call)).mounts
        break
      } catch (error) {
        if (error instanceof CtrError && error.kind === 'already-exists') {
          key = extractKey(chain[i])
          continue
        }
        throw snapshotterError(error, snapshotter, `prepare a snapshot for layer ${i + 1} of ${image.name}`)
      }
    }
    let committed = false
    try {
      const result = await client
        .service(DiffDefinition)
        .apply(
          {diff: {mediaType: layer.mediaType, digest: layer.digest, size: BigInt(layer.size), annotations: layer.annotations ?? {}}, mounts, payloads: {}},
          {...call, timeoutMs: null},
        )
      const diffId = result.applied?.digest
      if (diffId !== image.diffIds[i]) {
        throw new CtrError('usage', `image ${image.name}: layer ${layer.digest} unpacks to ${diffId}, but its config says diff_id ${image.diffIds[i]}`)
      }
      try {
        await snapshots.commit({snapshotter, name: chain[i], key, labels: {}}, call)
        committed = true
        applied++
      } catch (error) {
        // Another import committed the same chain meanwhile: theirs is as good as ours.
        if (!(error instanceof CtrError && error.kind === 'already-exists')) throw error
      }
      if (committed) await setBlobLabels(client, layer.digest, {[UNCOMPRESSED_LABEL]: diffId}, call)
    } catch (error) {
      throw error instanceof CtrError && error.kind !== 'internal'
        ? error
        : new CtrError('internal', `unpack layer ${i + 1} of ${image.name} (${layer.digest}): ${(error as Error).message}`, {cause: error})
    } finally {
      if (!committed) await snapshots.remove({snapshotter, key}, call).catch(() => undefined)
    }
  }
  options.onLayer?.(chain.length, chain.length)
  const top = chain.at(-1) ?? ''
  if (top) await setBlobLabels(client, image.config.digest, {[snapshotGcLabel(snapshotter)]: top}, call)
  return {snapshotter, chainId: top, applied}
}

/**
 * Unpacks each resolved image's best manifest for `matcher` (none: that image is left packed, e.g. with
 * --all-platforms and nothing this machine runs); a manifest shared by several images is unpacked once.
 */
export async function unpackImages(
  client: ContainerdClient,
  resolved: readonly Resolved[],
  blobs: ImageBlobs,
  matcher: PlatformMatcher,
  options: {snapshotter: string; call: CallOptions; onLayer?: (image: string, done: number, total: number) => void; ready?: UnpackOptions['ready']},
): Promise<Array<(UnpackResult & {platform: string}) | undefined>> {
  const done = new Map<string, UnpackResult & {platform: string}>()
  const results: Array<(UnpackResult & {platform: string}) | undefined> = []
  for (const r of resolved) {
    const best = bestManifest(r, matcher)
    if (!best) {
      results.push(undefined)
      continue
    }
    let result = done.get(best.descriptor.digest)
    if (!result) {
      const config = await blobs.config(best.manifest.config)
      const name = r.candidate.name
      const unpacked = await unpackLayers(
        client,
        {name, layers: best.manifest.layers, diffIds: config.rootfs?.diff_ids ?? [], config: best.manifest.config},
        {snapshotter: options.snapshotter, call: options.call, ready: options.ready, onLayer: (layer, layers) => options.onLayer?.(name, layer, layers)},
      )
      result = {...unpacked, platform: formatPlatform(best.platform)}
      done.set(best.descriptor.digest, result)
    }
    results.push(result)
  }
  return results
}

/** The manifest of a resolved image that `matcher` ranks best (the one unpacked), if any matches. */
export function bestManifest(resolved: Resolved, matcher: PlatformMatcher): Resolved['manifests'][number] | undefined {
  return resolved.manifests.filter((m) => matcher.match(m.platform)).sort((a, b) => matcher.rank(a.platform) - matcher.rank(b.platform))[0]
}

export async function snapshotExists(client: ContainerdClient, snapshotter: string, key: string, call: CallOptions): Promise<boolean> {
  try {
    await client.service(SnapshotsDefinition).stat({snapshotter, key}, call)
    return true
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return false
    throw snapshotterError(error, snapshotter, 'stat a snapshot')
  }
}

/** containerd answers an unknown snapshotter with a bare "snapshotter not loaded: NAME: invalid argument". */
function snapshotterError(error: unknown, snapshotter: string, what: string): unknown {
  if (error instanceof CtrError && error.subject?.type === 'snapshotter') {
    return new CtrError('usage', `snapshotter "${snapshotter}" is not loaded by this containerd`, {cause: error})
  }
  if (error instanceof CtrError) return new CtrError(error.kind, `${what}: ${error.message}`, {cause: error, exitCode: error.exitCode})
  return error
}
