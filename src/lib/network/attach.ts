/**
 * Attaching a container's network namespace to CNI networks, and detaching it, with a record of each
 * attachment that lets a later ctr finish the job (docs/containerd.md "Networking").
 *
 * The record, <state>/<namespace>/<container-id>.json (state: networkPaths().stateDir, 0700), is written
 * before the first plugin runs and updated after each network's ADD: the networks (name, interface, the
 * configuration as used, whether its ADD started, its result), the namespace path, the published ports. It
 * is CNI's result cache too: DEL runs from it, with the configuration ADD had, even if the file in
 * /etc/cni/net.d changed or went. A ctr killed mid-attach leaves a record that detachNetworks completes.
 * `networks rm` reads the records to find a network's users.
 *
 * Locks (lock.ts): one per network around its plugins; one for published ports around checking them and
 * writing the record, so two containers never get the same host port.
 */
import {constants as fsConstants} from 'node:fs'
import {mkdir, readdir, rename, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {ownerToken} from '../owner'
import {randomHex} from '../random-id'
import {requirePrivateDir} from '../private-paths'
import {addNetwork, type Attachment, type CniResult, deleteNetwork, type NetworkConfList, type PortMapping} from './cni'
import {lockDir, loadNetwork, type NetworkPaths, networkPaths, prepareStateDir, readOwnFile, withNetworkLock} from './networks'
import {checkHostPortFree, describePort, samePort} from './ports'
import {withFileLock} from './lock'

export interface AttachedNetwork {
  name: string
  ifName: string
  config: NetworkConfList
  /** The ports this network publishes (the first network whose chain can). */
  portMappings: PortMapping[]
  /** Its ADD began: DEL is due even without a result. */
  started: boolean
  /** The ADD's result; during the ADD, the last plugin's so far (what a DEL after a killed ctr is given). */
  result?: CniResult
}

/** ctr's record of a container's attachment (see the module comment). */
export interface AttachmentRecord {
  version: 1
  namespace: string
  container: string
  /** CNI_CONTAINERID: `<namespace>--<id>` (identifiers never hold two separators in a row: unambiguous). */
  cniContainerId: string
  netns: string
  networks: AttachedNetwork[]
  /** The ctr that wrote it (owner.ts token). */
  owner: string
  created: string
}

/** What a container got: its addresses on each network, and its published ports. */
export interface NetworkAttachment {
  networks: Array<{name: string; ifName: string; addresses: string[]; gateways: string[]; mac?: string}>
  portMappings: PortMapping[]
}

export interface AttachOptions {
  namespace: string
  containerId: string
  /** The network namespace's path (a pinned one, netns.ts, or /proc/<pid>/ns/net). */
  netns: string
  /** Network names, in order (eth0, eth1 ...); `bridge` is ctr's default. */
  networks: readonly string[]
  portMappings?: readonly PortMapping[]
  paths?: NetworkPaths
  signal?: AbortSignal
  /**
   * Run once the record is written, before the first plugin: makes the namespace (netns.ts createNetns), so
   * a ctr killed at any point leaves a record naming it, for the next detach to remove.
   */
  prepare?: () => Promise<unknown>
}

export const cniContainerId = (namespace: string, id: string): string => `${namespace}--${id}`

function recordFile(paths: NetworkPaths, namespace: string, id: string): string {
  if (!isIdentifier(namespace)) throw usageError(`invalid namespace "${namespace}"`)
  if (!isIdentifier(id)) throw usageError(`invalid container ID "${id}"`)
  return join(paths.stateDir, namespace, `${id}.json`)
}

async function writeRecord(file: string, record: AttachmentRecord): Promise<void> {
  const temp = `${file}.${randomHex(6)}.tmp`
  const {O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW} = fsConstants
  await writeFile(temp, JSON.stringify(record), {mode: 0o600, flag: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW})
  await rename(temp, file)
}

function parseRecord(text: string | undefined): AttachmentRecord | undefined {
  if (text === undefined) return undefined
  try {
    const record = JSON.parse(text) as AttachmentRecord
    return record?.version === 1 && Array.isArray(record.networks) && typeof record.cniContainerId === 'string' ? record : undefined
  } catch {
    return undefined
  }
}

/** The container's attachment record, if ctr keeps one. */
export async function readAttachment(namespace: string, id: string, paths: NetworkPaths = networkPaths()): Promise<AttachmentRecord | undefined> {
  return parseRecord(await readOwnFile(recordFile(paths, namespace, id)))
}

/**
 * The container IDs of `namespace` that have a record: one readdir, so that a listing of thousands of
 * containers does not try to open a file for each (2,000 failed opens were a third of `containers --json`).
 */
export async function recordedIds(namespace: string, paths: NetworkPaths = networkPaths()): Promise<Set<string>> {
  if (!isIdentifier(namespace)) return new Set()
  const files = await readdir(join(paths.stateDir, namespace)).catch(() => [] as string[])
  return new Set(files.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)))
}

/** Every record in the state directory (all namespaces). */
export async function listAttachments(paths: NetworkPaths = networkPaths()): Promise<AttachmentRecord[]> {
  const records: AttachmentRecord[] = []
  const namespaces = await readdir(paths.stateDir).catch(() => [] as string[])
  for (const namespace of namespaces.filter(isIdentifier)) {
    const files = await readdir(join(paths.stateDir, namespace)).catch(() => [] as string[])
    for (const file of files.filter((name) => name.endsWith('.json'))) {
      const record = parseRecord(await readOwnFile(join(paths.stateDir, namespace, file)))
      if (record) records.push(record)
    }
  }
  return records
}

/** The containers (`namespace/id`) whose records name network `name`. */
export async function networkUsers(name: string, paths: NetworkPaths = networkPaths()): Promise<string[]> {
  return (await listAttachments(paths))
    .filter((record) => record.networks.some((network) => network.name === name))
    .map((record) => `${record.namespace}/${record.container}`)
    .sort()
}

/** What a record says the container got. */
export function summarize(record: AttachmentRecord): NetworkAttachment {
  return {
    networks: record.networks.map((network) => {
      const result = network.result ?? {}
      const own = (result.interfaces ?? []).findIndex((entry) => entry.name === network.ifName && entry.sandbox)
      const ips = (result.ips ?? []).filter((ip) => own < 0 || ip.interface === undefined || ip.interface === own)
      const mac = own >= 0 ? result.interfaces?.[own].mac : undefined
      return {
        name: network.name,
        ifName: network.ifName,
        addresses: ips.map((ip) => ip.address),
        gateways: ips.flatMap((ip) => (ip.gateway ? [ip.gateway] : [])),
        ...(mac ? {mac} : {}),
      }
    }),
    portMappings: record.networks.flatMap((network) => network.portMappings),
  }
}

/** Refuses a host port another record publishes or a host process holds. Called under the ports lock. */
async function checkPorts(paths: NetworkPaths, mappings: readonly PortMapping[]): Promise<void> {
  for (const [index, mapping] of mappings.entries()) {
    if (mappings.slice(0, index).some((other) => samePort(other, mapping))) throw usageError(`host port ${describePort(mapping)} is published twice`)
  }
  if (!mappings.length) return
  for (const record of await listAttachments(paths)) {
    for (const mapping of mappings) {
      const holder = record.networks.some((network) => network.portMappings.some((other) => samePort(other, mapping)))
      if (holder)
        throw new CtrError('already-exists', `host port ${describePort(mapping)} is already published by container ${record.namespace}/${record.container}`)
    }
  }
  for (const mapping of mappings) await checkHostPortFree(mapping)
}

/**
 * Attaches the namespace to each network in order (interfaces eth0, eth1 ...), publishing the ports on the
 * first network whose chain has the portMappings capability. On any failure everything this call added is
 * deleted again (the record too) before the error is thrown.
 */
export async function attachNetworks(options: AttachOptions): Promise<NetworkAttachment> {
  const paths = options.paths ?? networkPaths()
  const file = recordFile(paths, options.namespace, options.containerId)
  const names = [...new Set(options.networks)]
  const portMappings = [...(options.portMappings ?? [])]
  if (!names.length) {
    if (portMappings.length) throw usageError('publishing ports needs a network')
    return {networks: [], portMappings: []}
  }
  const loaded = []
  for (const name of names) loaded.push(await loadNetwork(paths, name))
  const publisher = loaded.findIndex((network) => network.config.plugins.some((plugin) => plugin.capabilities?.portMappings))
  if (portMappings.length && publisher < 0) {
    throw usageError(
      `network${names.length > 1 ? 's' : ''} ${names.map((name) => `"${name}"`).join(', ')} cannot publish ports (no plugin with the portMappings capability)`,
    )
  }
  const record: AttachmentRecord = {
    version: 1,
    namespace: options.namespace,
    container: options.containerId,
    cniContainerId: cniContainerId(options.namespace, options.containerId),
    netns: options.netns,
    networks: loaded.map((network, index) => ({
      name: network.info.name,
      ifName: `eth${index}`,
      config: network.config,
      portMappings: index === publisher ? portMappings : [],
      started: false,
    })),
    owner: ownerToken(),
    created: new Date().toISOString(),
  }
  await prepareStateDir(paths)
  await mkdir(join(paths.stateDir, options.namespace), {recursive: true, mode: 0o700})
  await requirePrivateDir(join(paths.stateDir, options.namespace), 'network state directory')
  await withFileLock(
    join(lockDir(paths), 'ports.lock'),
    async () => {
      if (await readOwnFile(file)) {
        throw new CtrError('already-exists', `container "${options.containerId}" has networks attached already (detach them first)`)
      }
      await checkPorts(paths, portMappings)
      await writeRecord(file, record)
    },
    {what: 'published ports', signal: options.signal},
  )
  try {
    await options.prepare?.()
    for (const network of record.networks) {
      const attachment: Attachment = {containerId: record.cniContainerId, netns: record.netns, ifName: network.ifName, portMappings: network.portMappings}
      await withNetworkLock(paths, network.name, async () => {
        network.started = true
        await writeRecord(file, record)
        const onResult = async (partial: CniResult) => {
          network.result = partial
          await writeRecord(file, record)
        }
        network.result = await addNetwork(network.config, attachment, {dirs: paths.pluginDirs, signal: options.signal, onResult})
      })
    }
  } catch (error) {
    await detachNetworks(options.namespace, options.containerId, paths).catch(() => undefined)
    throw error
  }
  return summarize(record)
}

/**
 * Detaches what the container's record names, in reverse (DEL from the cached results), then removes the
 * record. Idempotent: no record, nothing to do. A failed DEL keeps the record (minus what was removed) for
 * the next try, and is thrown. Returns the networks detached.
 */
export async function detachNetworks(namespace: string, id: string, paths: NetworkPaths = networkPaths()): Promise<string[]> {
  const file = recordFile(paths, namespace, id)
  const record = parseRecord(await readOwnFile(file))
  if (!record) {
    await rm(file, {force: true}) // unreadable (not ours, or torn): nothing ctr can vouch for
    return []
  }
  const netnsThere = await stat(record.netns).then(
    () => true,
    () => false,
  )
  const detached: string[] = []
  let failure: unknown
  for (const network of [...record.networks].reverse()) {
    if (network.started) {
      // A gone namespace (a reboot, a task's own namespace after exit): the spec lets DEL run without one.
      const attachment: Attachment = {
        containerId: record.cniContainerId,
        netns: netnsThere ? record.netns : '',
        ifName: network.ifName,
        portMappings: network.portMappings,
      }
      try {
        await withNetworkLock(paths, network.name, () => deleteNetwork(network.config, attachment, network.result, {dirs: paths.pluginDirs}))
      } catch (error) {
        failure ??= error
        continue
      }
      detached.unshift(network.name)
    }
    record.networks = record.networks.filter((entry) => entry !== network)
  }
  if (failure) {
    await writeRecord(file, record).catch(() => undefined)
    throw failure
  }
  await rm(file, {force: true})
  return detached
}
