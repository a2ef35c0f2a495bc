/**
 * A container's network at start and at delete (docs/containerd.md "Networking"): the mode (the host's
 * namespace, an own one with loopback only, or CNI networks in a namespace ctr pins first), the spec's
 * network namespace and mounts, and the /etc files ctr writes for image containers.
 *
 * Everything here is named by the container's namespace and ID only (the record, the pinned namespace, the
 * /etc directory), never by a label, so teardown removes only what ctr made for that container, and is
 * idempotent: a container without any of it is left alone.
 */
import {constants as fsConstants} from 'node:fs'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {isIPv4} from 'node:net'
import {join} from 'node:path'

import type {OciSpec} from '../containers/bundle'
import {usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import type {UndoStack, UndoStep} from '../containerd/undo'
import {ownerState} from '../owner'
import {requirePrivateDir} from '../private-paths'
import {attachNetworks, detachNetworks, type NetworkAttachment, readAttachment, recordedIds, summarize} from './attach'
import type {PortMapping} from './cni'
import {createNetns, netnsPath, removeNetns} from './netns'
import {type NetworkPaths, networkPaths, prepareStateDir} from './networks'

/** The host's namespace. */
export const HOST_NETWORK = 'host'
/** An own namespace with loopback only. */
export const NO_NETWORK = 'none'

export interface ContainerNetworkOptions {
  namespace: string
  id: string
  /**
   * `host`, `none`, or CNI network names (`bridge` is ctr's default). Undefined: the spec's own (a bundle's
   * config.json), or `none` from an image; with portMappings, `bridge`.
   */
  networks?: readonly string[]
  portMappings?: readonly PortMapping[]
  /** The container comes from an image: ctr writes its /etc/hosts, /etc/hostname and /etc/resolv.conf. */
  image: boolean
  paths?: NetworkPaths
  signal?: AbortSignal
}

/** What a start asked for, after the defaults: the mode and the CNI networks. */
export function networkMode(networks: readonly string[] | undefined, ports: number): {mode: 'spec' | 'host' | 'none' | 'cni'; names: string[]} {
  const names = [...new Set(networks ?? (ports ? ['bridge'] : []))]
  const special = names.filter((name) => name === HOST_NETWORK || name === NO_NETWORK)
  if (special.length && names.length > 1) throw usageError(`network "${special[0]}" cannot be combined with other networks`)
  if (special.length && ports) throw usageError(`publishing ports needs a network: not with network "${special[0]}"`)
  if (special.length) return {mode: special[0] as 'host' | 'none', names: []}
  return names.length ? {mode: 'cni', names} : {mode: 'spec', names: []}
}

const etcDir = (paths: NetworkPaths, namespace: string, id: string): string => {
  if (!isIdentifier(namespace) || !isIdentifier(id)) throw usageError(`invalid container "${namespace}/${id}"`)
  return join(paths.stateDir, namespace, `${id}.etc`)
}

interface SpecNamespace {
  type: string
  path?: string
}

function setNetworkNamespace(spec: OciSpec, path: string | undefined | null): void {
  spec.linux ??= {}
  const namespaces = ((spec.linux.namespaces as SpecNamespace[] | undefined) ?? []).filter((entry) => entry.type !== 'network')
  // null: the host's (no entry at all); undefined: a new one runc makes; a path: that one.
  if (path !== null) namespaces.push(path ? {type: 'network', path} : {type: 'network'})
  spec.linux.namespaces = namespaces
}

function bindReadOnly(spec: OciSpec, files: Record<string, string>): void {
  const mounts = ((spec.mounts as Array<{destination: string}> | undefined) ?? []).filter((mount) => !(mount.destination in files))
  for (const [destination, source] of Object.entries(files)) mounts.push({destination, type: 'bind', source, options: ['rbind', 'ro']} as {destination: string})
  spec.mounts = mounts
}

/** The host's resolv.conf without loopback name servers (unreachable from another namespace). */
async function resolvConf(): Promise<string> {
  const loopback = /^\s*nameserver\s+(127\.\S*|::1)\s*$/
  for (const file of ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']) {
    const text = await readFile(file, 'utf8').catch(() => undefined)
    if (text === undefined) continue
    const lines = text.split('\n').filter((line) => !loopback.test(line))
    if (lines.some((line) => /^\s*nameserver\s/.test(line)) || file !== '/etc/resolv.conf') return lines.join('\n')
  }
  return '' // no name server that works from the container's namespace
}

async function writeEtc(dir: string, hostname: string, attachment: NetworkAttachment | undefined): Promise<Record<string, string>> {
  await rm(dir, {recursive: true, force: true}) // a killed start's
  await mkdir(dir, {mode: 0o700})
  const addresses = (attachment?.networks ?? []).flatMap((network) => network.addresses.map((address) => address.split('/')[0]))
  const hosts = [
    `127.0.0.1\tlocalhost${addresses.length ? '' : `\t${hostname}`}`,
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...addresses.filter((address) => isIPv4(address)).map((address) => `${address}\t${hostname}`),
    '',
  ].join('\n')
  const files = {'/etc/hosts': hosts, '/etc/hostname': `${hostname}\n`, '/etc/resolv.conf': await resolvConf()}
  const mounts: Record<string, string> = {}
  const {O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW} = fsConstants
  for (const [destination, text] of Object.entries(files)) {
    const file = join(dir, destination.slice('/etc/'.length))
    await writeFile(file, text, {mode: 0o644, flag: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW})
    mounts[destination] = file
  }
  return mounts
}

/**
 * Sets up the container's network and edits its spec to match; what it makes is recorded on `undo` (one
 * step, teardownNetwork, returned so a kept container can dismiss it). CNI: the namespace is pinned first,
 * attached, and its path put in the spec.
 */
export async function setUpNetwork(
  spec: OciSpec,
  options: ContainerNetworkOptions,
  undo: UndoStack,
): Promise<{attachment?: NetworkAttachment; step?: UndoStep}> {
  const {namespace, id} = options
  const paths = options.paths ?? networkPaths()
  const ports = options.portMappings ?? []
  const {mode, names} = networkMode(options.networks, ports.length)
  const effective = mode === 'spec' && options.image ? 'none' : mode
  if (effective === 'spec') return {}
  if (effective === 'host') {
    setNetworkNamespace(spec, null)
    bindReadOnly(spec, {'/etc/hosts': '/etc/hosts', '/etc/resolv.conf': '/etc/resolv.conf'})
    return {}
  }
  const step = undo.defer(() => teardownNetwork(namespace, id, paths), {local: true})
  let attachment: NetworkAttachment | undefined
  if (effective === 'none') setNetworkNamespace(spec, undefined)
  else {
    // The namespace is made once the record names it (prepare): a ctr killed in between leaves nothing unrecorded.
    const netns = netnsPath(namespace, id)
    attachment = await attachNetworks({
      namespace,
      containerId: id,
      netns,
      networks: names,
      portMappings: ports,
      paths,
      signal: options.signal,
      prepare: () => createNetns(namespace, id),
    })
    setNetworkNamespace(spec, netns)
  }
  if (options.image) {
    const hostname = typeof spec.hostname === 'string' && spec.hostname ? spec.hostname : id.slice(0, 63)
    spec.hostname = hostname
    await prepareStateDir(paths)
    const parent = join(paths.stateDir, namespace)
    await mkdir(parent, {recursive: true, mode: 0o700})
    await requirePrivateDir(parent, 'network state directory')
    bindReadOnly(spec, await writeEtc(etcDir(paths, namespace, id), hostname, attachment))
  }
  return {attachment, step}
}

/**
 * Removes what setUpNetwork made for the container, in reverse: the CNI attachments (DEL from the record),
 * the pinned namespace, the /etc files. Idempotent; a failed DEL is thrown with the record kept for the next try.
 */
export async function teardownNetwork(namespace: string, id: string, paths: NetworkPaths = networkPaths()): Promise<void> {
  await detachNetworks(namespace, id, paths)
  // A user who cannot even look into root's /run/ctr or state directory has nothing of ctr's there to remove
  // (only root sets up networks): deleting their containers must not fail on it.
  await removeNetns(namespace, id).catch(unlessNotPermitted)
  await rm(etcDir(paths, namespace, id), {recursive: true, force: true}).catch(unlessNotPermitted)
}

function unlessNotPermitted(error: unknown): void {
  const code = (error as NodeJS.ErrnoException)?.code ?? (error as {cause?: NodeJS.ErrnoException})?.cause?.code
  if (code !== 'EACCES' && code !== 'EPERM') throw error
}

/** The container's addresses and published ports, from its record (undefined without one). */
export async function containerNetwork(namespace: string, id: string, paths: NetworkPaths = networkPaths()): Promise<NetworkAttachment | undefined> {
  const record = await readAttachment(namespace, id, paths).catch(() => undefined)
  return record && summarize(record)
}

/**
 * Network set-up of a start whose ctr died before it made a container record (no container to delete):
 * torn down when its record's ctr is dead. Resolves true if there was such a set-up.
 */
export async function teardownOrphanNetwork(namespace: string, id: string, paths: NetworkPaths = networkPaths()): Promise<boolean> {
  const record = await readAttachment(namespace, id, paths).catch(() => undefined)
  if (!record || ownerState(record.owner) !== 'dead') return false
  await teardownNetwork(namespace, id, paths)
  return true
}

/** Each container with its network (addresses and published ports), where ctr keeps a record. */
export async function withNetworks<T extends {id: string}>(
  namespace: string,
  containers: readonly T[],
  paths: NetworkPaths = networkPaths(),
): Promise<Array<T & {network?: NetworkAttachment}>> {
  const recorded = await recordedIds(namespace, paths)
  return Promise.all(
    containers.map(async (container) => {
      const network = recorded.has(container.id) && isIdentifier(container.id) ? await containerNetwork(namespace, container.id, paths) : undefined
      return network ? {...container, network} : container
    }),
  )
}
