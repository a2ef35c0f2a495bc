/**
 * CNI networks: the configuration lists in $CNI_CONF_DIR (default /etc/cni/net.d), ctr's default bridge
 * network (written on first use), and the networks `networks create` writes and `networks rm` removes.
 *
 * Configuration is data ctr hands to programs it runs as root: it is read only from a private directory
 * (private-paths.ts), files opened without following symlinks. ctr's own state (attachment records, locks)
 * lives in $CTR_NET_DIR, default /var/lib/ctr/net for root (see attach.ts).
 */
import {execFile} from 'node:child_process'
import {constants as fsConstants} from 'node:fs'
import {mkdir, readdir, rm, rmdir, stat, unlink, writeFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'
import {promisify} from 'node:util'

import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {openForRead, privateDirProblem, requirePrivateDir} from '../private-paths'
import {type NetworkConfList, pluginDirs} from './cni'
import {withFileLock} from './lock'
import {firstFreeSubnet, formatSubnet, gatewayFor, hostRoutes, overlaps, parseSubnet, type Subnet} from './subnets'

export const CONF_DIR_ENV = 'CNI_CONF_DIR'
export const DEFAULT_CONF_DIR = '/etc/cni/net.d'
export const STATE_DIR_ENV = 'CTR_NET_DIR'
export const SYSTEM_STATE_DIR = '/var/lib/ctr/net'
/** The CNI name of ctr's default network, which `--net bridge` means. */
export const DEFAULT_NETWORK = 'ctr-bridge'
export const DEFAULT_NETWORK_ALIAS = 'bridge'
export const DEFAULT_BRIDGE = 'ctr0'
/** Names that are not CNI networks (host, none) or mean the default. */
const RESERVED = new Set(['host', 'none', DEFAULT_NETWORK_ALIAS, DEFAULT_NETWORK])
/** host-local's default data directory (one subdirectory per network name). */
const HOST_LOCAL_DIR = '/var/lib/cni/networks'
const IP = '/usr/sbin/ip'

/** Where ctr finds networks and keeps its state. */
export interface NetworkPaths {
  confDir: string
  stateDir: string
  pluginDirs: string[]
}

export function networkPaths(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): NetworkPaths {
  let stateDir = env[STATE_DIR_ENV] ? resolve(env[STATE_DIR_ENV]) : SYSTEM_STATE_DIR
  if (!env[STATE_DIR_ENV] && uid !== 0) {
    const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state')
    stateDir = join(state, 'ctr', 'net')
  }
  return {confDir: resolve(env[CONF_DIR_ENV] || DEFAULT_CONF_DIR), stateDir, pluginDirs: pluginDirs(env)}
}

/** A network as `ctr networks` shows it. */
export interface NetworkInfo {
  name: string
  /** The configuration file. */
  file: string
  /** IPAM subnets (host-local's ranges, or its single subnet). */
  subnets: string[]
  /** The bridge plugin's device (its default is cni0), if the list has a bridge plugin. */
  bridge?: string
  /** ctr wrote this list (networks create, or the default network). */
  ctrMade: boolean
  plugins: string[]
}

export interface LoadedNetwork {
  info: NetworkInfo
  config: NetworkConfList
}

/** The lock files' directory: not a namespace name (identifiers never start with a dot). */
export const lockDir = (paths: NetworkPaths): string => join(paths.stateDir, '.locks')

/** Makes the state directory (0700) and its lock directory, checked private. */
export async function prepareStateDir(paths: NetworkPaths): Promise<void> {
  await mkdir(lockDir(paths), {recursive: true, mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError('permission-denied', `cannot create ${lockDir(paths)}: ${error.code ?? error.message}`, {cause: error})
  })
  await requirePrivateDir(paths.stateDir, 'network state directory')
  await requirePrivateDir(lockDir(paths), 'network state directory')
}

/** Runs fn holding the lock of network `name` (CNI plugins must not run concurrently on one network). */
export async function withNetworkLock<T>(paths: NetworkPaths, name: string, fn: () => Promise<T>): Promise<T> {
  await prepareStateDir(paths)
  return withFileLock(join(lockDir(paths), `network-${name}.lock`), fn, {what: `network "${name}"`})
}

function asList(parsed: Record<string, unknown>, file: string): NetworkConfList | undefined {
  if (typeof parsed.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(parsed.name)) return undefined
  const cniVersion = typeof parsed.cniVersion === 'string' ? parsed.cniVersion : '0.2.0'
  if (Array.isArray(parsed.plugins)) {
    const plugins = parsed.plugins as NetworkConfList['plugins']
    if (!plugins.length || plugins.some((plugin) => typeof plugin?.type !== 'string')) return undefined
    return {...parsed, cniVersion, name: parsed.name, plugins}
  }
  // A .conf holds one plugin's configuration: a list of one (libcni's ConfListFromConf).
  if (file.endsWith('.conflist') || typeof parsed.type !== 'string') return undefined
  const {cniVersion: _version, name, ...plugin} = parsed
  return {cniVersion, name, plugins: [plugin as NetworkConfList['plugins'][number]]}
}

function describe(config: NetworkConfList, file: string): NetworkInfo {
  const subnets: string[] = []
  let bridge: string | undefined
  for (const plugin of config.plugins) {
    if (plugin.type === 'bridge') bridge = typeof plugin.bridge === 'string' ? plugin.bridge : 'cni0'
    const ipam = plugin.ipam as {subnet?: unknown; ranges?: unknown} | undefined
    if (typeof ipam?.subnet === 'string') subnets.push(ipam.subnet)
    if (Array.isArray(ipam?.ranges)) {
      for (const set of ipam.ranges) if (Array.isArray(set)) for (const range of set) if (typeof range?.subnet === 'string') subnets.push(range.subnet)
    }
  }
  const ctrMade = typeof config.ctr === 'object' && config.ctr !== null
  return {name: config.name, file, subnets, ...(bridge === undefined ? {} : {bridge}), ctrMade, plugins: config.plugins.map((plugin) => plugin.type)}
}

/** Every network in the configuration directory, in libcni's order (by file name; the first of a name wins). */
export async function loadNetworks(paths: NetworkPaths): Promise<LoadedNetwork[]> {
  const problem = await privateDirProblem(paths.confDir)
  if (problem?.endsWith(' does not exist')) return []
  await requirePrivateDir(paths.confDir, 'CNI configuration directory')
  const names = (await readdir(paths.confDir)).filter((name) => /\.(conflist|conf|json)$/.test(name)).sort()
  const found: LoadedNetwork[] = []
  const seen = new Set<string>()
  for (const name of names) {
    const file = join(paths.confDir, name)
    let parsed: unknown
    try {
      const handle = await openForRead(file)
      try {
        parsed = JSON.parse(await handle.readFile('utf8'))
      } finally {
        await handle.close()
      }
    } catch {
      continue // not a file of root's, or not JSON: not a network (libcni skips what it cannot parse too)
    }
    const config = parsed && typeof parsed === 'object' ? asList(parsed as Record<string, unknown>, file) : undefined
    if (!config || seen.has(config.name)) continue
    seen.add(config.name)
    found.push({info: describe(config, file), config})
  }
  return found
}

/** The network a name means (`bridge` is ctr's default, written on first use); not-found otherwise. */
export async function loadNetwork(paths: NetworkPaths, name: string): Promise<LoadedNetwork> {
  if (name === DEFAULT_NETWORK_ALIAS || name === DEFAULT_NETWORK) return ensureDefaultNetwork(paths)
  const found = (await loadNetworks(paths)).find((network) => network.info.name === name)
  if (!found) throw new CtrError('not-found', `network "${name}" not found in ${paths.confDir}`)
  return found
}

/** A 32-bit FNV-1a hash in hex: short stable device names (node:crypto costs start-up time in the bundle). */
function shortHash(text: string): string {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return hash.toString(16).padStart(8, '0')
}

/** The bridge device of a network ctr makes (at most 15 characters, as Linux allows). */
export const bridgeName = (name: string): string => (name === DEFAULT_NETWORK ? DEFAULT_BRIDGE : `ctr-${shortHash(name)}`)

/** nerdctl's default chain: bridge (gateway, masquerade, hairpin) → portmap → firewall → tuning. */
export function ctrConfList(name: string, subnet: Subnet, gateway: string, created: Date = new Date()): NetworkConfList {
  return {
    cniVersion: '1.0.0',
    name,
    ctr: {created: created.toISOString()},
    plugins: [
      {
        type: 'bridge',
        bridge: bridgeName(name),
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {type: 'host-local', ranges: [[{subnet: formatSubnet(subnet), gateway}]], routes: [{dst: '0.0.0.0/0'}]},
      },
      {type: 'portmap', capabilities: {portMappings: true}},
      {type: 'firewall'},
      {type: 'tuning'},
    ],
  }
}

/** Subnets in use: the host's routes (other than default ones) and every network's ranges. */
async function takenSubnets(networks: LoadedNetwork[]): Promise<Array<{subnet: Subnet; by: string}>> {
  const taken = (await hostRoutes()).map((route) => ({subnet: route.subnet, by: `a route of the host (${formatSubnet(route.subnet)} on ${route.iface})`}))
  for (const network of networks) {
    for (const text of network.info.subnets) {
      try {
        taken.push({subnet: parseSubnet(text), by: `network "${network.info.name}" (${text})`})
      } catch {
        // IPv6 or odd ranges: not ctr's to judge
      }
    }
  }
  return taken
}

async function writeConfList(file: string, config: NetworkConfList): Promise<void> {
  const {O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW} = fsConstants
  await writeFile(file, JSON.stringify(config, null, 2) + '\n', {mode: 0o644, flag: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW}).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') throw new CtrError('already-exists', `${file} exists already`)
      throw new CtrError('permission-denied', `cannot write ${file}: ${error.code ?? error.message}`, {cause: error})
    },
  )
}

async function prepareConfDir(paths: NetworkPaths): Promise<void> {
  // /etc/cni/net.d is 0755 by convention: readable by all, writable by root only (so still private).
  await mkdir(paths.confDir, {recursive: true, mode: 0o755}).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError('permission-denied', `cannot create ${paths.confDir}: ${error.code ?? error.message}`, {cause: error})
  })
  await requirePrivateDir(paths.confDir, 'CNI configuration directory')
}

const withConfigLock = async <T>(paths: NetworkPaths, fn: () => Promise<T>): Promise<T> => {
  await prepareStateDir(paths)
  return withFileLock(join(lockDir(paths), 'config.lock'), fn, {what: 'the CNI configuration'})
}

/** ctr's default network, written (ctr-bridge.conflist, first free 10.8.N.0/24) when it is not there yet. */
export async function ensureDefaultNetwork(paths: NetworkPaths): Promise<LoadedNetwork> {
  const existing = (await loadNetworks(paths)).find((network) => network.info.name === DEFAULT_NETWORK)
  if (existing) return existing
  return withConfigLock(paths, async () => {
    const networks = await loadNetworks(paths)
    const again = networks.find((network) => network.info.name === DEFAULT_NETWORK)
    if (again) return again
    const subnet = firstFreeSubnet((await takenSubnets(networks)).map((taken) => taken.subnet))
    if (!subnet) throw new CtrError('failed-precondition', `no free subnet in 10.8.0.0/16 for the default network: create one with 'networks create'`)
    return writeNetwork(paths, DEFAULT_NETWORK, subnet, gatewayFor(subnet))
  })
}

async function writeNetwork(paths: NetworkPaths, name: string, subnet: Subnet, gateway: string): Promise<LoadedNetwork> {
  await prepareConfDir(paths)
  const config = ctrConfList(name, subnet, gateway)
  const file = join(paths.confDir, `${name}.conflist`)
  await writeConfList(file, config)
  return {info: describe(config, file), config}
}

export interface CreateNetworkOptions {
  /** IPv4 CIDR; default the first free 10.8.N.0/24. */
  subnet?: string
  /** Default the subnet's first host address. */
  gateway?: string
}

/** Checks a name for a network ctr makes: CNI's rule, and a file name; not a reserved one. */
export function checkNetworkName(name: string): void {
  if (!isIdentifier(name)) throw usageError(`invalid network name "${name}": use letters, digits and single . _ - between them`)
  if (RESERVED.has(name)) throw usageError(`network name "${name}" is reserved`)
}

/** Writes <confDir>/<name>.conflist with ctr's chain; refuses an existing name or a subnet in use. */
export async function createNetwork(paths: NetworkPaths, name: string, options: CreateNetworkOptions = {}): Promise<NetworkInfo> {
  checkNetworkName(name)
  const wanted = options.subnet === undefined ? undefined : parseSubnet(options.subnet)
  if (options.gateway !== undefined && !wanted) throw usageError('a gateway needs a subnet')
  const gateway = wanted ? gatewayFor(wanted, options.gateway) : undefined
  return withConfigLock(paths, async () => {
    const networks = await loadNetworks(paths)
    if (networks.some((network) => network.info.name === name)) throw new CtrError('already-exists', `network "${name}" already exists`)
    const taken = await takenSubnets(networks)
    if (wanted) {
      const clash = taken.find((entry) => overlaps(entry.subnet, wanted))
      if (clash) throw new CtrError('failed-precondition', `subnet ${formatSubnet(wanted)} collides with ${clash.by}`)
    }
    const subnet = wanted ?? firstFreeSubnet(taken.map((entry) => entry.subnet))
    if (!subnet) throw new CtrError('failed-precondition', 'no free subnet in 10.8.0.0/16: give one with a subnet')
    return (await writeNetwork(paths, name, subnet, gateway ?? gatewayFor(subnet))).info
  })
}

const run = promisify(execFile)

/** Removes host-local's bookkeeping of a removed network (its lock, last reserved addresses); leases stay. */
async function removeHostLocalDir(name: string): Promise<void> {
  const dir = join(HOST_LOCAL_DIR, name)
  if (await privateDirProblem(dir)) return
  const entries = await readdir(dir).catch(() => [] as string[])
  if (!entries.every((entry) => entry === 'lock' || /^last_reserved_ip\.\d+$/.test(entry))) return
  for (const entry of entries) await unlink(join(dir, entry)).catch(() => undefined)
  await rmdir(dir).catch(() => undefined)
}

/** Whether a network device exists (its sysfs entry). */
const deviceExists = (device: string): Promise<boolean> =>
  stat(join('/sys/class/net', device)).then(
    () => true,
    () => false,
  )

/**
 * Removes a network ctr made: its file, its bridge device and host-local's bookkeeping. Refuses one ctr did
 * not make and one a container uses (`users` names them: attach.ts's records).
 */
export async function removeNetwork(paths: NetworkPaths, name: string, users: (name: string) => Promise<string[]>): Promise<NetworkInfo> {
  const target = name === DEFAULT_NETWORK_ALIAS ? DEFAULT_NETWORK : name
  return withConfigLock(paths, () =>
    withNetworkLock(paths, target, async () => {
      const found = (await loadNetworks(paths)).find((network) => network.info.name === target)
      if (!found) throw new CtrError('not-found', `network "${name}" not found in ${paths.confDir}`)
      if (!found.info.ctrMade) throw new CtrError('failed-precondition', `network "${target}" was not made by ctr: remove ${found.info.file} yourself`)
      const using = await users(target)
      if (using.length) throw new CtrError('failed-precondition', `network "${target}" is used by container${using.length > 1 ? 's' : ''} ${using.join(', ')}`)
      await rm(found.info.file, {force: true})
      if (found.info.bridge === bridgeName(target) && (await deviceExists(found.info.bridge))) {
        await run(IP, ['link', 'delete', found.info.bridge, 'type', 'bridge']).catch(() => undefined)
      }
      await removeHostLocalDir(target)
      return found.info
    }),
  )
}

/** Reads a file of ours without following symlinks (records). */
export async function readOwnFile(file: string): Promise<string | undefined> {
  const handle = await openForRead(file).catch(() => undefined)
  if (!handle) return undefined
  try {
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}
