/**
 * `ctr images pull`: an image from a registry into containerd, as Go ctr 1.6 does it on the client side
 * (client.Fetch + image.Unpack), through the same steps as import (../images):
 *
 * 1. A lease covers everything written: a failed or interrupted pull leaves nothing once it is deleted.
 * 2. The reference's manifest or index is fetched (OCI and Docker media types); its digest is checked
 *    against the reference's digest, or the registry's Docker-Content-Digest. The walk (images/resolve)
 *    follows indexes to the manifests of the platform (this machine's, --platform, --all-platforms),
 *    fetching each manifest and config by digest into the content store (Content.Write, digest verified).
 * 3. The layers are fetched concurrently (--max-concurrent-downloads, default 3), each streamed from the
 *    response into Content.Write and verified; a blob the store has is not downloaded.
 * 4. GC labels on the parents (and `containerd.io/distribution.source.<host>` on every blob, as Go ctr),
 *    unpack (images/unpack), the image record (images/records), then the lease goes.
 * Steps 1 and 4 and the roll-back are the image transaction's (images/transaction), shared with import.
 */
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError, optionError} from '../containerd/errors'
import {type Descriptor, readBlob, writeBlob} from '../images/content'
import {type ImageConfig, parseConfig} from '../images/layout'
import {sha256Digest} from '../images/digest'
import {isIndexType, isManifestType, MEDIA_TYPE} from '../images/media-types'
import {ALL_PLATFORMS, hostPlatform, parsePlatform, strictMatcher} from '../images/platform'
import {type ImageBlobs, resolveImage} from '../images/resolve'
import {runImageTransaction} from '../images/transaction'
import {bestManifest, type UnpackResult} from '../images/unpack'
import {type RegistryClient, type RegistryOptions, type RegistryResponse, registryFor} from './client'
import {discard} from './http'
import type {HostsOptions} from './hosts'
import {parseReference} from './reference'

/** Registry hosts and TLS (./hosts: hosts.toml, CA files, client certificates, plain HTTP) are HostsOptions. */
export interface PullOptions extends HostsOptions {
  ref: string
  platform?: string
  allPlatforms?: boolean
  snapshotter?: string
  /** Default true. */
  unpack?: boolean
  /** Default 3. */
  maxConcurrentDownloads?: number
  /** The same for every host, or each host's own (see RegistryOptions). */
  credentials?: RegistryOptions['credentials']
  /** Per registry answer (and longest pause in a body); default 30 s, 0 none. */
  timeoutMs?: number
  signal?: AbortSignal
  onProgress?: (event: PullProgress) => void
}

export type BlobState = 'waiting' | 'downloading' | 'exists' | 'done'

export type PullProgress =
  | {phase: 'resolved'; name: string; digest: string}
  | {phase: 'blob'; digest: string; kind: string; size: number; bytes: number; state: BlobState}
  | {phase: 'unpack'; image: string; layer: number; layers: number}

export interface PulledImage {
  name: string
  target: Descriptor
  created: boolean
  /** Blobs fetched (the rest were in the store), and their bytes. */
  fetched: {blobs: number; bytes: number}
  /** Blobs the image needs for the platform(s). */
  blobs: number
  unpacked?: UnpackResult & {platform: string}
}

export const MANIFEST_ACCEPT = [MEDIA_TYPE.ociIndex, MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.dockerManifest].join(', ')
/** Manifests and indexes are read whole: a registry may serve at most this much for one. */
const MANIFEST_LIMIT = 4 * 1024 * 1024
export const DISTRIBUTION_SOURCE_LABEL = 'containerd.io/distribution.source.'

export async function pullImage(client: ContainerdClient, options: PullOptions): Promise<PulledImage> {
  const {signal} = options
  const ref = parseReference(options.ref)
  const requested = options.platform ? parsePlatform(options.platform) : undefined
  if (options.allPlatforms && requested) throw optionError('usage', (o) => `${o('platform')} and ${o('allPlatforms')} cannot be used together`)
  const concurrency = options.maxConcurrentDownloads ?? 3
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw optionError('usage', (o) => `${o('maxConcurrentDownloads')} must be a whole number of at least 1`)
  // As Go ctr: the fetch matches exactly this platform (platforms.Any(DefaultSpec)); unpack its best match.
  const fetchMatcher = options.allPlatforms ? ALL_PLATFORMS : strictMatcher(requested ?? hostPlatform())
  const unpackMatcher = strictMatcher(requested ?? hostPlatform())
  const registry = await registryFor(ref, options, 'pull')

  const [image] = await runImageTransaction(
    client,
    {
      operation: 'pull',
      signal,
      snapshotter: options.snapshotter,
      onUnpackLayer: (name, layer, total) => options.onProgress?.({phase: 'unpack', image: name, layer, layers: total}),
      // Pulls (and starts) killed earlier: their partial downloads this pull needed are in its lease now.
      sweepDeadLeases: true,
    },
    async (tx): Promise<PulledImage[]> => {
      const target = await resolveTop(registry, ref.tag ?? ref.digest!, ref.digest)
      options.onProgress?.({phase: 'resolved', name: ref.name, digest: target.descriptor.digest})
      const blobs = new RegistryBlobs(client, registry, tx.call, tx.lease.id)
      blobs.prefetched.set(target.descriptor.digest, target.bytes)
      blobs.fetched.blobs++
      blobs.fetched.bytes += target.bytes.length

      const resolved = await resolveImage(blobs, {name: ref.name, target: target.descriptor}, fetchMatcher, tx.labels)

      // Layers (configs are in already: the walk read them), each once, N at a time; those the unpack needs
      // first (its manifest's, bottom up), so the unpack can start early also with --all-platforms.
      const layers = new Map<string, Descriptor>()
      const unpackFirst = options.unpack === false ? undefined : bestManifest(resolved, unpackMatcher)
      for (const m of [...(unpackFirst ? [unpackFirst] : []), ...resolved.manifests]) for (const layer of m.manifest.layers) layers.set(layer.digest, layer)
      for (const layer of layers.values())
        options.onProgress?.({phase: 'blob', digest: layer.digest, kind: 'layer', size: layer.size, bytes: 0, state: 'waiting'})
      // The unpack runs beside the downloads, applying each layer once it and those below it are in, as
      // containerd 1.6's own client does (its unpacker): the daemon's Diff.Apply overlaps the next download.
      // The first failure on either side stops the other (no new download, no further layer applied), and is
      // the one reported, once both have settled: nothing may still write under the lease at the roll-back.
      const landed = new Map([...layers.keys()].map((digest) => [digest, settleable()]))
      let failure: {error: unknown} | undefined
      const stop = new AbortController()
      const fail = (error: unknown) => {
        failure ??= {error}
        stop.abort()
        for (const layer of landed.values()) layer.reject(error)
      }
      const fetching = pool([...layers.values()], concurrency, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, async (layer) => {
        await blobs.fetchBlob(layer, 'layer', options.onProgress).catch((error) => {
          fail(error)
          throw error
        })
        landed.get(layer.digest)!.resolve()
      }).finally(() => {
        // Interrupted between downloads: the layers that never came must not keep the unpack waiting.
        for (const layer of landed.values()) layer.reject(new CtrError('cancelled', 'the pull stopped before this layer was fetched'))
      })
      const unpacking =
        options.unpack === false
          ? Promise.resolve(undefined)
          : tx
              .unpack([resolved], blobs, unpackMatcher, (digest) =>
                failure ? Promise.reject(failure.error) : (landed.get(digest)?.promise ?? Promise.resolve()),
              )
              .then(
                ([result]) => result,
                (error) => {
                  fail(error)
                  throw error
                },
              )
      const [fetched, unpacked] = await Promise.allSettled([fetching, unpacking])
      if (failure) throw failure.error
      if (fetched.status === 'rejected') throw fetched.reason
      if (unpacked.status === 'rejected') throw unpacked.reason

      // Go's key has the host without its port (distribution.source.127.0.0.1).
      const source = {[`${DISTRIBUTION_SOURCE_LABEL}${ref.domain.replace(/:\d+$/, '')}`]: ref.repository}
      for (const digest of blobs.written) tx.label(digest, source)
      return [
        {
          name: ref.name,
          target: target.descriptor,
          created: false,
          fetched: blobs.fetched,
          blobs: blobs.written.size,
          ...(unpacked.value ? {unpacked: unpacked.value} : {}),
        },
      ]
    },
  )
  return image
}

/** The reference's manifest or index: its bytes and descriptor, its digest checked. */
async function resolveTop(registry: RegistryClient, object: string, digest?: string): Promise<{descriptor: Descriptor; bytes: Buffer}> {
  const what = digest ? `manifest ${digest}` : `tag ${object}`
  // A tag is asked of the hosts that may resolve; a digest of those that may pull (as containerd).
  const response = await registry.request(`/manifests/${object}`, {headers: {accept: MANIFEST_ACCEPT}, what, capability: digest ? undefined : 'resolve'})
  const bytes = await readLimited(registry, response, what)
  const actual = sha256Digest(bytes)
  const claimed = digest ?? response.headers.get('docker-content-digest') ?? undefined
  if (claimed && claimed !== actual)
    throw new CtrError('usage', `${what} from ${registry.domain} does not match its digest: expected ${claimed}, the data has ${actual}`)
  const mediaType = manifestMediaType(response.headers.get('content-type'), bytes, what)
  return {descriptor: {mediaType, digest: actual, size: bytes.length}, bytes}
}

function manifestMediaType(contentType: string | null, bytes: Buffer, what: string): string {
  const header = (contentType ?? '').split(';')[0].trim()
  if (isIndexType(header) || isManifestType(header)) return header
  let parsed: {mediaType?: unknown; manifests?: unknown; config?: unknown} = {}
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    // reported below
  }
  if (typeof parsed.mediaType === 'string' && (isIndexType(parsed.mediaType) || isManifestType(parsed.mediaType))) return parsed.mediaType
  if (Array.isArray(parsed.manifests)) return MEDIA_TYPE.ociIndex
  if (parsed.config) return MEDIA_TYPE.ociManifest
  throw new CtrError('usage', `${what} is not an image manifest or index (media type ${header || 'none'}); schema 1 manifests are not supported`)
}

async function readLimited(registry: RegistryClient, response: RegistryResponse, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const chunk of registry.chunks(response, what)) {
    n += chunk.length
    if (n > MANIFEST_LIMIT) throw new CtrError('usage', `${what} is larger than ${MANIFEST_LIMIT / 1024 / 1024} MiB: not a manifest`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** The walk's blobs: fetched from the registry into the content store (by digest), or read from the store. */
class RegistryBlobs implements ImageBlobs {
  readonly prefetched = new Map<string, Buffer>()
  readonly written = new Set<string>()
  readonly fetched = {blobs: 0, bytes: 0}
  private readonly small = new Map<string, Buffer>()
  private readonly configs = new Map<string, ImageConfig>()

  constructor(
    private readonly client: ContainerdClient,
    private readonly registry: RegistryClient,
    private readonly call: CallOptions,
    private readonly leaseId: string,
  ) {}

  get label(): string {
    return `${this.registry.domain}`
  }

  /** Every blob is had: what the registry lacks fails its fetch (not found). */
  async has(): Promise<boolean> {
    return true
  }

  async bytes(d: Descriptor): Promise<Buffer> {
    let bytes = this.small.get(d.digest)
    if (!bytes) {
      if (d.size > MANIFEST_LIMIT) throw new CtrError('usage', `${d.mediaType} ${d.digest} is ${d.size} bytes: too large to be read whole`)
      const kind = isIndexType(d.mediaType) || isManifestType(d.mediaType) ? 'manifest' : 'config'
      const prefetched = this.prefetched.get(d.digest)
      await this.fetchBlob(d, kind, undefined, prefetched)
      bytes = prefetched ?? (await readBlob(this.client, d.digest, this.call))
      this.small.set(d.digest, bytes)
    }
    return bytes
  }

  async config(d: Descriptor): Promise<ImageConfig> {
    let config = this.configs.get(d.digest)
    if (!config) {
      config = parseConfig(await this.bytes(d), `image config ${d.digest}`)
      this.configs.set(d.digest, config)
    }
    return config
  }

  /** Into the content store under the lease: skipped when it is there, else streamed from the registry. */
  async fetchBlob(d: Descriptor, kind: string, onProgress?: PullOptions['onProgress'], bytes?: Buffer): Promise<void> {
    const manifest = kind === 'manifest'
    const what = `${kind} ${d.digest}`
    let done = 0
    const registry = this.registry
    const fetched = this.fetched
    async function* data(response: RegistryResponse): AsyncGenerator<Buffer> {
      for await (const chunk of registry.chunks(response, what)) {
        done += chunk.length
        fetched.bytes += chunk.length
        onProgress?.({phase: 'blob', digest: d.digest, kind, size: d.size, bytes: done, state: 'downloading'})
        yield chunk
      }
    }
    // What a killed pull left in the ref's ingest is resumed with a Range request; a registry that answers
    // 200 (the whole blob) instead of 206 makes the write start over.
    const open = async (offset: number): Promise<{offset: number; data: AsyncIterable<Buffer>}> => {
      if (bytes) {
        const prefetched = bytes
        return {
          offset: 0,
          data: (async function* () {
            yield prefetched
          })(),
        }
      }
      const range = offset > 0 && !manifest ? {range: `bytes=${offset}-`} : undefined
      onProgress?.({phase: 'blob', digest: d.digest, kind, size: d.size, bytes: offset, state: 'downloading'})
      const response = await registry.request(`/${manifest ? 'manifests' : 'blobs'}/${d.digest}`, {
        headers: manifest ? {accept: d.mediaType} : {...range},
        what,
      })
      fetched.blobs++
      const resumed = range && response.status === 206 && contentRangeStart(response.headers.get('content-range')) === offset
      // 200: the registry ignored the Range and sends the whole blob, from 0. A 206 of another range: ask again.
      const other = range && !resumed && response.status === 206
      if (other) discard(response)
      const whole = other ? await registry.request(`/blobs/${d.digest}`, {what}) : response
      done = resumed ? offset : 0
      return {offset: resumed ? offset : 0, data: data(whole)}
    }
    const result = await writeBlob(this.client, `${what} from ${this.registry.domain}`, {
      // Stable per blob (Go's remotes.MakeRefKey): a pull killed half-way leaves its download in this ingest,
      // and the next pull of the blob resumes it instead of starting over (docs/containerd.md).
      ref: `${refKind(d.mediaType, kind)}-${d.digest}`,
      expected: d.digest,
      size: d.size,
      open,
      call: this.call,
      leaseId: this.leaseId,
      skipExisting: true,
      // containerd hashes what is written and checks it at COMMIT; hashing it here too cost ≈0.17 s of CPU
      // per 200 MiB pull (docs/performance.md).
      verifiedAtCommit: true,
    })
    this.written.add(d.digest)
    onProgress?.({phase: 'blob', digest: d.digest, kind, size: d.size, bytes: result.existed ? d.size : done, state: result.existed ? 'exists' : 'done'})
  }
}

/** Go's ref key prefixes: index-, manifest-, config-, layer-. */
function refKind(mediaType: string, kind: string): string {
  return isIndexType(mediaType) ? 'index' : kind
}

/** The first byte of `Content-Range: bytes START-END/TOTAL`, or undefined. */
function contentRangeStart(header: string | null): number | undefined {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec((header ?? '').trim())
  return match ? Number(match[1]) : undefined
}

/** A promise with its resolve and reject, observed (an unawaited rejection is not an error here). */
function settleable(): {promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void} {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  promise.catch(() => undefined)
  return {promise, resolve, reject}
}

/** Runs `work` on every item, at most `limit` at once; the first failure stops the rest. */
export async function pool<T>(items: readonly T[], limit: number, signal: AbortSignal | undefined, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      signal?.throwIfAborted()
      const item = items[next++]
      try {
        await work(item)
      } catch (error) {
        failed ??= error
        throw error
      }
    }
  }
  const results = await Promise.allSettled(Array.from({length: Math.min(limit, items.length)}, worker))
  if (failed !== undefined) throw failed
  for (const r of results) if (r.status === 'rejected') throw r.reason
}
