/**
 * `ctr images push`: an image of containerd's store to a registry, as Go ctr 1.6 does: walk the image
 * (index → manifests → config and layers; with --platform only that platform's manifest, pushed as REF),
 * upload every blob the registry lacks (HEAD first; then POST an upload and PUT the data in one request,
 * streamed from Content.Read), N at a time, then the manifests by digest and the top one as REF.
 */
import {ContentDefinition} from '../../gen/containerd/services/content/v1/content'
import {ImagesDefinition} from '../../gen/containerd/services/images/v1/images'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, optionError, usageError} from '../containerd/errors'
import {type Descriptor, hasBlob, readBlob} from '../images/content'
import {parseIndex, parseManifest} from '../images/layout'
import {isIndexType, isManifestType} from '../images/media-types'
import {normalizeDockerRef} from '../images/naming'
import {parsePlatform, strictMatcher} from '../images/platform'
import {type RegistryOptions, registryFor} from './client'
import type {HostsOptions} from './hosts'
import {discard} from './http'
import {pool} from './pull'
import {parseReference} from './reference'

/** Registry hosts and TLS (./hosts) are HostsOptions; a push goes to the first host that may push. */
export interface PushOptions extends HostsOptions {
  ref: string
  /** The image in containerd's store (default: ref). */
  localRef?: string
  /** Push only this platform's manifest, as REF. */
  platform?: string
  maxConcurrentUploads?: number
  /** The same for every host, or each host's own (see RegistryOptions). */
  credentials?: RegistryOptions['credentials']
  timeoutMs?: number
  signal?: AbortSignal
  onProgress?: (event: {phase: 'blob'; digest: string; kind: string; size: number; bytes: number; state: 'waiting' | 'uploading' | 'exists' | 'done'}) => void
}

export interface PushedImage {
  name: string
  /** The descriptor pushed as REF. */
  target: Descriptor
  uploaded: {blobs: number; bytes: number}
  blobs: number
}

export async function pushImage(client: ContainerdClient, options: PushOptions): Promise<PushedImage> {
  const {signal} = options
  const ref = parseReference(options.ref)
  const local = await localImage(client, options.localRef ?? options.ref, signal)
  const registry = await registryFor(ref, options, 'pull,push')
  const call = {signal}
  const what = `image ${local.name}`

  // Children before parents: blobs (config, layers), then manifests, then the index.
  const blobs = new Map<string, {descriptor: Descriptor; kind: string}>()
  const manifests: Array<{descriptor: Descriptor; bytes: Buffer}> = []
  const present = async (d: Descriptor, role: string) => {
    if (!(await hasBlob(client, d.digest, call))) {
      throw optionError(
        'usage',
        (o) => `${what}: ${role} ${d.digest} is not in containerd's content store (pulled for one platform? push it with ${o('platform')})`,
      )
    }
  }
  const walk = async (d: Descriptor, depth: number): Promise<void> => {
    if (depth > 4) throw usageError(`${what}: indexes nested too deeply`)
    await present(d, isIndexType(d.mediaType) ? 'index' : 'manifest')
    const bytes = await readBlob(client, d.digest, call)
    if (isIndexType(d.mediaType)) {
      for (const child of parseIndex(bytes, `${what}: index ${d.digest}`).manifests) await walk(child, depth + 1)
    } else if (isManifestType(d.mediaType)) {
      const manifest = parseManifest(bytes, `${what}: manifest ${d.digest}`)
      for (const [i, b] of [manifest.config, ...manifest.layers].entries()) {
        await present(b, i === 0 ? 'config' : `layer ${i}`)
        blobs.set(b.digest, {descriptor: b, kind: i === 0 ? 'config' : 'layer'})
      }
    } else {
      throw usageError(`${what}: ${d.digest} has media type ${d.mediaType}, not an image manifest or index`)
    }
    manifests.push({descriptor: d, bytes})
  }

  let top = local.target
  if (options.platform) {
    const matcher = strictMatcher(parsePlatform(options.platform))
    if (isIndexType(top.mediaType)) {
      const index = parseIndex(await readBlob(client, top.digest, call), `${what}: index ${top.digest}`)
      const match = index.manifests.find((m) => m.platform && matcher.match(m.platform))
      if (!match) throw usageError(`${what} has no manifest for ${matcher.description}`)
      top = match
    }
  }
  await walk(top, 0)

  const uploaded = {blobs: 0, bytes: 0}
  for (const {descriptor, kind} of blobs.values())
    options.onProgress?.({phase: 'blob', digest: descriptor.digest, kind, size: descriptor.size, bytes: 0, state: 'waiting'})
  await pool([...blobs.values()], options.maxConcurrentUploads ?? 3, signal, async ({descriptor: d, kind}) => {
    const label = `${kind} ${d.digest}`
    const head = await registry.request(`/blobs/${d.digest}`, {method: 'HEAD', what: label, ok: [404]})
    discard(head)
    if (head.status !== 404) {
      options.onProgress?.({phase: 'blob', digest: d.digest, kind, size: d.size, bytes: d.size, state: 'exists'})
      return
    }
    const started = await registry.request('/blobs/uploads/', {method: 'POST', what: `upload of ${label}`, headers: {'content-length': '0'}})
    discard(started)
    const location = started.headers.get('location')
    if (!location) throw new CtrError('internal', `registry ${ref.domain}: no upload location for ${label}`)
    const url = new URL(location, registry.base)
    url.searchParams.set('digest', d.digest)
    let sent = 0
    const onProgress = options.onProgress
    async function* body(): AsyncGenerator<Uint8Array> {
      for await (const r of client.service(ContentDefinition).read({digest: d.digest, offset: 0n, size: 0n}, call)) {
        sent += r.data.length
        onProgress?.({phase: 'blob', digest: d.digest, kind, size: d.size, bytes: sent, state: 'uploading'})
        yield r.data
      }
    }
    const put = await registry.request(url.toString(), {
      method: 'PUT',
      what: `upload of ${label}`,
      headers: {'content-type': 'application/octet-stream', 'content-length': String(d.size)},
      body: body(),
    })
    discard(put)
    uploaded.blobs++
    uploaded.bytes += d.size
    onProgress?.({phase: 'blob', digest: d.digest, kind, size: d.size, bytes: d.size, state: 'done'})
  })

  for (const [i, m] of manifests.entries()) {
    const isTop = i === manifests.length - 1
    const object = isTop ? (ref.tag ?? ref.digest!) : m.descriptor.digest
    const response = await registry.request(`/manifests/${object}`, {
      method: 'PUT',
      what: `manifest ${m.descriptor.digest}`,
      headers: {'content-type': m.descriptor.mediaType},
      body: m.bytes,
    })
    discard(response)
    const digest = response.headers.get('docker-content-digest')
    if (digest && digest !== m.descriptor.digest) throw new CtrError('internal', `registry ${ref.domain} stored manifest ${m.descriptor.digest} as ${digest}`)
  }
  return {name: ref.name, target: top, uploaded, blobs: blobs.size}
}

async function localImage(client: ContainerdClient, name: string, signal?: AbortSignal): Promise<{name: string; target: Descriptor}> {
  const images = client.service(ImagesDefinition)
  const candidates = [...new Set([name, normalizeDockerRef(name)])]
  for (const candidate of candidates) {
    try {
      const {image} = await images.get({name: candidate}, {signal})
      const t = image!.target!
      return {name: candidate, target: {mediaType: t.mediaType, digest: t.digest, size: Number(t.size)}}
    } catch (error) {
      if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
    }
  }
  throw new CtrError('not-found', `image "${name}" not found in namespace "${client.namespace}"`)
}
