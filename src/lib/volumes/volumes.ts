/**
 * Named volumes (`-v NAME:PATH`, `ctr volumes`): directories ctr keeps per namespace under its state
 * directory, <root>/<namespace>/<name>/_data, with root = $CTR_VOLUME_DIR, else /var/lib/ctr/volumes for
 * root (XDG state for others, as the network state). The root, the namespace's directory and each volume's
 * directory are 0700 and checked private (private-paths.ts) before use: nothing another user could plant (a
 * symlink at a volume's path) is followed. `_data` is what containers mount.
 *
 * Which containers use a volume is on the containers themselves: the label io.ctr.volumes holds the names
 * (comma-separated) that ctr resolves under its own directory; a label never gives a path. A volume is
 * dangling when no container in the namespace names it.
 *
 * Creating, filling (fill.ts) and removing a volume happen under its lock (network/lock.ts: flock, dropped
 * when the holder dies), so two ctrs never fill one volume twice nor remove one another is filling.
 */
import {lstat, mkdir, readdir, rename, rm} from 'node:fs/promises'
import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'

import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import type {ContainerdClient} from '../containerd/client'
import {refuseOverSsh} from '../ssh/remote'
import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {withFileLock} from '../network/lock'
import {privateDirProblem, requirePrivateDir} from '../private-paths'
import {randomHex} from '../random-id'

export const VOLUME_DIR_ENV = 'CTR_VOLUME_DIR'
export const SYSTEM_VOLUME_DIR = '/var/lib/ctr/volumes'
/** On a container: the names of the volumes it mounts, comma-separated. */
export const VOLUMES_LABEL = 'io.ctr.volumes'
const DATA = '_data'
const LOCKS = '.locks'
/** A volume being removed is renamed to this prefix first (its name is free at once; a killed ctr's leftovers go at the next prune). */
const REMOVING = '.removing-'

/** docker's rule for a local volume's name: a letter or digit, then letters, digits, _ . - */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
/** So that its lock file, NAME.lock, fits in a file name (255 bytes). */
const MAX_NAME = 250

export function isVolumeName(name: string): boolean {
  return name.length <= MAX_NAME && NAME.test(name)
}

export function checkVolumeName(name: string): void {
  if (!isVolumeName(name))
    throw usageError(`invalid volume name "${name}": a letter or digit, then letters, digits, "_", "." or "-", at most ${MAX_NAME} characters`)
}

/** The root of ctr's volumes (each namespace has a directory in it). */
export function volumeRoot(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  if (env[VOLUME_DIR_ENV]) return resolve(env[VOLUME_DIR_ENV])
  if (uid === 0) return SYSTEM_VOLUME_DIR
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state')
  return join(state, 'ctr', 'volumes')
}

export interface VolumeInfo {
  name: string
  /** The directory containers mount (`_data`). */
  mountpoint: string
  /** Containers of the namespace that name it (empty: dangling). */
  containers: string[]
}

export interface VolumeOptions {
  /** The volumes' root (volumeRoot()). */
  root?: string
  signal?: AbortSignal
}

function namespaceDir(namespace: string, root: string): string {
  if (!isIdentifier(namespace)) throw usageError(`invalid namespace "${namespace}"`)
  return join(root, namespace)
}

const volumeDir = (namespace: string, name: string, root: string) => join(namespaceDir(namespace, root), name)
export const volumeMountpoint = (namespace: string, name: string, root: string = volumeRoot()) => join(volumeDir(namespace, name, root), DATA)

/** The namespace's directory, made 0700 if missing, checked private. */
async function prepareNamespaceDir(namespace: string, root: string): Promise<string> {
  const dir = namespaceDir(namespace, root)
  await mkdir(join(dir, LOCKS), {recursive: true, mode: 0o700}).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError('permission-denied', `cannot create the volume directory ${dir}: ${error.code ?? error.message}`, {cause: error})
  })
  await requirePrivateDir(dir, 'volume directory')
  await requirePrivateDir(join(dir, LOCKS), 'volume directory')
  return dir
}

/** Runs fn holding volume `name`'s lock. */
export async function withVolumeLock<T>(namespace: string, name: string, root: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  checkVolumeName(name)
  const dir = await prepareNamespaceDir(namespace, root)
  return withFileLock(join(dir, LOCKS, `${name}.lock`), fn, {what: `volume "${name}"`, signal})
}

/**
 * What is at the volume's path: 'missing', or 'volume' when it is a private directory of ours whose `_data`
 * is a real directory; anything else (a symlink, a file, another owner) is refused, never followed.
 */
async function inspectVolume(namespace: string, name: string, root: string): Promise<'missing' | 'volume'> {
  const dir = volumeDir(namespace, name, root)
  const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)))
  if (!info) return 'missing'
  const problem = await privateDirProblem(dir)
  if (problem) throw new CtrError('permission-denied', `volume "${name}" is not safe to use: ${problem}`)
  const data = await lstat(join(dir, DATA)).catch(() => undefined)
  // Its owner and mode may be the image's (a filled volume): the private directory above it is what guards it.
  if (!data?.isDirectory()) throw new CtrError('permission-denied', `volume "${name}" is not safe to use: ${join(dir, DATA)} is not a directory`)
  return 'volume'
}

/** Makes the volume if missing (under its lock, held by the caller). Resolves whether it was created. */
async function makeVolume(namespace: string, name: string, root: string): Promise<boolean> {
  if ((await inspectVolume(namespace, name, root)) === 'volume') return false
  const dir = volumeDir(namespace, name, root)
  await mkdir(dir, {mode: 0o700})
  // As docker's new volumes: a world-readable directory owned by root (a fill from the image replaces owner and mode).
  await mkdir(join(dir, DATA), {mode: 0o755})
  await inspectVolume(namespace, name, root)
  return true
}

/** `volumes create`: makes the volume, or finds it (an existing one is not an error, as docker). */
export async function createVolume(
  client: Pick<ContainerdClient, 'namespace' | 'remote' | 'address'>,
  name: string,
  options: VolumeOptions = {},
): Promise<{name: string; mountpoint: string; created: boolean}> {
  refuseVolumesOverSsh(client)
  const {namespace} = client
  const root = options.root ?? volumeRoot()
  const created = await withVolumeLock(namespace, name, root, () => makeVolume(namespace, name, root), options.signal)
  return {name, mountpoint: volumeMountpoint(namespace, name, root), created}
}

/**
 * For a start: the volume made if missing, then `fill` run on its `_data` if that is empty (a first use),
 * all under its lock. Resolves the mountpoint.
 */
export async function prepareVolume(
  namespace: string,
  name: string,
  options: VolumeOptions & {fill?: (data: string) => Promise<void>} = {},
): Promise<{mountpoint: string; created: boolean}> {
  const root = options.root ?? volumeRoot()
  const mountpoint = volumeMountpoint(namespace, name, root)
  return withVolumeLock(
    namespace,
    name,
    root,
    async () => {
      const created = await makeVolume(namespace, name, root)
      if (options.fill && (await readdir(mountpoint)).length === 0) await options.fill(mountpoint)
      return {mountpoint, created}
    },
    options.signal,
  )
}

/** The volume names a container's labels give (only valid names; anything else in the label is ignored). */
export function volumesOf(labels: Record<string, string>): string[] {
  const value = labels[VOLUMES_LABEL]
  return value ? value.split(',').filter((name) => isVolumeName(name)) : []
}

/** Volumes are directories of this host: over ssh, containerd's containers could not use them. */
function refuseVolumesOverSsh(client: Pick<ContainerdClient, 'remote' | 'address'>): void {
  refuseOverSsh(client, 'volumes', 'ctr keeps them in a directory')
}

/** Volume name → the containers of the namespace that name it. */
async function usersByVolume(client: ContainerdClient, signal?: AbortSignal): Promise<Map<string, string[]>> {
  const {containers} = await client.service(ContainersDefinition).list({filters: [`labels."${VOLUMES_LABEL}"`]}, {signal})
  const users = new Map<string, string[]>()
  for (const container of [...containers].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const name of volumesOf(container.labels)) users.set(name, [...(users.get(name) ?? []), container.id])
  }
  return users
}

/** The namespace's volumes, sorted by name, with the containers that use each. */
export async function listVolumes(client: ContainerdClient, options: VolumeOptions = {}): Promise<VolumeInfo[]> {
  refuseVolumesOverSsh(client)
  const root = options.root ?? volumeRoot()
  const dir = namespaceDir(client.namespace, root)
  const problem = await privateDirProblem(dir)
  if (problem === `${resolve(dir)} does not exist`) return []
  if (problem) throw new CtrError('permission-denied', `volume directory ${resolve(dir)} is not safe to use: ${problem}`)
  const names = (await readdir(dir, {withFileTypes: true})).filter((e) => e.isDirectory() && isVolumeName(e.name)).map((e) => e.name)
  const users = await usersByVolume(client, options.signal)
  return names.sort().map((name) => ({name, mountpoint: join(dir, name, DATA), containers: users.get(name) ?? []}))
}

export interface VolumeFilter {
  dangling?: boolean[]
  name?: string[]
}

/** docker's `--filter` for volumes: dangling=true|false (1|0), name=TEXT (part of the name). Same key: any; different keys: all. */
export function parseVolumeFilters(texts: readonly string[]): VolumeFilter {
  const filter: VolumeFilter = {}
  for (const text of texts) {
    const at = text.indexOf('=')
    const key = at < 0 ? text : text.slice(0, at)
    const value = at < 0 ? '' : text.slice(at + 1)
    if (key === 'dangling' && ['true', '1', 'false', '0'].includes(value)) (filter.dangling ??= []).push(value === 'true' || value === '1')
    else if (key === 'name' && value) (filter.name ??= []).push(value)
    else throw usageError(`invalid filter "${text}": use dangling=true, dangling=false or name=TEXT`)
  }
  return filter
}

export function matchesVolumeFilter(volume: VolumeInfo, filter: VolumeFilter): boolean {
  const dangling = volume.containers.length === 0
  return (!filter.dangling || filter.dangling.includes(dangling)) && (!filter.name || filter.name.some((part) => volume.name.includes(part)))
}

export interface RemovedVolume {
  name: string
  mountpoint: string
}

/**
 * Removes a volume no container uses (a used one is refused, naming the containers). A missing one is a
 * not-found error. The directory is renamed away first, then deleted (rm does not follow symlinks in it).
 */
export async function removeVolume(client: ContainerdClient, name: string, options: VolumeOptions = {}): Promise<RemovedVolume> {
  refuseVolumesOverSsh(client)
  checkVolumeName(name)
  const root = options.root ?? volumeRoot()
  const namespace = client.namespace
  const dir = namespaceDir(namespace, root)
  if ((await privateDirProblem(dir)) === `${resolve(dir)} does not exist`) throw volumeNotFound(name, namespace)
  return withVolumeLock(
    namespace,
    name,
    root,
    async () => {
      if ((await inspectVolume(namespace, name, root)) === 'missing') throw volumeNotFound(name, namespace)
      const users = (await usersByVolume(client, options.signal)).get(name) ?? []
      if (users.length > 0) {
        throw new CtrError('failed-precondition', `volume "${name}" is in use by container${users.length > 1 ? 's' : ''} ${users.join(', ')}`)
      }
      const away = join(dir, `${REMOVING}${randomHex(8)}`)
      await rename(volumeDir(namespace, name, root), away)
      await rm(away, {recursive: true, force: true})
      return {name, mountpoint: volumeMountpoint(namespace, name, root)}
    },
    options.signal,
  )
}

const volumeNotFound = (name: string, namespace: string) => new CtrError('not-found', `volume "${name}" not found in namespace "${namespace}"`)

/** The dangling volumes (those `prune` removes). */
export async function danglingVolumes(client: ContainerdClient, options: VolumeOptions = {}): Promise<VolumeInfo[]> {
  return (await listVolumes(client, options)).filter((volume) => volume.containers.length === 0)
}

/**
 * Removes the given volumes that are still dangling (each checked again under its lock), and what a killed
 * ctr's removal left. Resolves those removed.
 */
export async function pruneVolumes(client: ContainerdClient, volumes: readonly VolumeInfo[], options: VolumeOptions = {}): Promise<RemovedVolume[]> {
  refuseVolumesOverSsh(client)
  const root = options.root ?? volumeRoot()
  const dir = namespaceDir(client.namespace, root)
  const removed: RemovedVolume[] = []
  for (const volume of volumes) {
    const result = await removeVolume(client, volume.name, options).catch((error: unknown) => {
      if (error instanceof CtrError && (error.kind === 'failed-precondition' || error.kind === 'not-found')) return undefined
      throw error
    })
    if (result) removed.push(result)
  }
  const left = await readdir(dir).catch(() => [] as string[])
  for (const entry of left.filter((e) => e.startsWith(REMOVING))) await rm(join(dir, entry), {recursive: true, force: true})
  return removed
}
