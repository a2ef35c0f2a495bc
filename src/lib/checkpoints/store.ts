/**
 * Checkpoints of a container's task (CRIU through runc) and restoring from them.
 *
 * Where they live (docs/guide.md "Checkpoints: where they live"): in a directory ctr owns, one per checkpoint,
 *
 *   $CTR_CHECKPOINT_DIR (default /var/lib/ctr/checkpoints, 0700)/<namespace>/<container>/<name>/
 *     images/          CRIU's image files: CheckpointOptions.image_path, so the daemon writes nothing else
 *     work/            CRIU's work dir (dump.log, later restore.log): CheckpointOptions.work_path
 *     criu.conf        the dump's --tcp/--unix-sockets/--shell/--file-locks for restore (the shim drops them)
 *     checkpoint.json  what ctr records: created, tcp, unixSockets, shell, exit, fileLocks
 *
 * and not as container labels: a checkpoint must outlive the container record, since restoring is
 * `containers start --checkpoint NAME ID BUNDLE`, which creates the container afresh (delete the old one
 * first). A checkpoint appears all at once: CRIU writes into a hidden staging directory that is renamed into
 * place only after it succeeded and checkpoint.json is written; on failure the staging directory is removed.
 */
import {refuseOverSsh} from '../ssh/remote'
import {randomHex} from '../random-id'
import {lstat, mkdir, readdir, readFile, rename, rm, rmdir} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import type {ContainerdClient} from '../containerd/client'
import {CtrError, usageError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {checkContainerId, requireContainer} from '../containers/containers'

export const CHECKPOINT_DIR_ENV = 'CTR_CHECKPOINT_DIR'
export const DEFAULT_CHECKPOINT_DIR = '/var/lib/ctr/checkpoints'

export const METADATA_FILE = 'checkpoint.json'
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const NAME_MAX_LENGTH = 76

/** The CRIU options of `checkpoints create`, under the seed's names. */
export interface CheckpointFlags {
  /** Persist open TCP connections (CRIU --tcp-established). */
  tcp: boolean
  /** Persist external unix sockets (CRIU --ext-unix-sk). */
  unixSockets: boolean
  /** Checkpoint shell jobs, i.e. a process with a terminal (CRIU --shell-job). */
  shell: boolean
  /** Stop the container once the checkpoint succeeded (default: it keeps running). */
  exit: boolean
  /** Checkpoint file locks (CRIU --file-locks). */
  fileLocks: boolean
}

export interface Checkpoint extends CheckpointFlags {
  name: string
  container: string
  namespace: string
  created: Date
  /** The checkpoint's directory (images/ holds CRIU's files). */
  path: string
}

export interface StoreOptions {
  /** The checkpoint root; default $CTR_CHECKPOINT_DIR, else DEFAULT_CHECKPOINT_DIR. */
  root?: string
}

export function checkpointRoot(options: StoreOptions = {}, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(options.root || env[CHECKPOINT_DIR_ENV] || DEFAULT_CHECKPOINT_DIR)
}

/** Checkpoint names become directory names: one safe path component, never hidden (staging dirs are). */
export function checkCheckpointName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.includes('..') || name.length > NAME_MAX_LENGTH) {
    throw usageError(`invalid checkpoint name "${name}": use letters, digits, . _ - (not starting with . _ -, no ".."), at most ${NAME_MAX_LENGTH} characters`)
  }
}

function checkNamespace(namespace: string): void {
  // Namespaces follow containerd's identifier rule too.
  if (!isIdentifier(namespace)) throw usageError(`invalid namespace "${namespace}"`)
}

/** The directory of a container's checkpoints; every component is validated so none can leave the root. */
export function containerCheckpointDir(root: string, namespace: string, id: string): string {
  checkNamespace(namespace)
  checkContainerId(id)
  return join(root, namespace, id)
}

/**
 * The container's checkpoint directory, checked before anything in it is read or written: the root must be
 * a real directory (not a symlink) owned by ctr's user and writable by nobody else (a 1777 /tmp dir would
 * let anyone plant `ns/id → /victim`), and every component below it must be a real directory owned by the
 * user, never a symlink. With `create`, missing components are made (0700) one at a time, never through a
 * symlink. Returns undefined when something does not exist yet (and `create` is off).
 */
export async function checkedContainerDir(root: string, namespace: string, id: string, options: {create?: boolean} = {}): Promise<string | undefined> {
  const containerDir = containerCheckpointDir(root, namespace, id)
  const uid = process.getuid?.() ?? 0
  const check = async (dir: string, isRoot: boolean): Promise<boolean> => {
    let info
    try {
      info = await lstat(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw storeError(error as NodeJS.ErrnoException, dir)
      if (!options.create) return false
      await mkdir(dir, {mode: 0o700, recursive: isRoot}).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw storeError(e, dir)
      })
      info = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
        throw storeError(e, dir)
      })
    }
    const refuse = (why: string) =>
      new CtrError('permission-denied', `checkpoint store ${dir} ${why}; refusing to use it (${CHECKPOINT_DIR_ENV} picks another)`)
    if (info.isSymbolicLink()) throw refuse('is a symlink')
    if (!info.isDirectory()) throw refuse('is not a directory')
    if (info.uid !== uid) throw refuse(`is owned by uid ${info.uid}, not by this user (uid ${uid})`)
    if (info.mode & 0o022) throw refuse(`is writable by ${info.mode & 0o002 ? 'others' : 'its group'} (mode ${(info.mode & 0o7777).toString(8)})`)
    return true
  }
  if (!(await check(root, true))) return undefined
  for (const dir of [join(root, namespace), containerDir]) if (!(await check(dir, false))) return undefined
  return containerDir
}

// -- what ctr records ------------------------------------------------------------------------------------

interface Metadata extends CheckpointFlags {
  name: string
  container: string
  namespace: string
  created: string
}

export function encodeMetadata(checkpoint: Omit<Checkpoint, 'path'>): string {
  const {name, container, namespace, created, tcp, unixSockets, shell, exit, fileLocks} = checkpoint
  const metadata: Metadata = {name, container, namespace, created: created.toISOString(), tcp, unixSockets, shell, exit, fileLocks}
  return JSON.stringify(metadata, null, 2) + '\n'
}

/** checkpoint.json → Checkpoint; undefined when it is not one of ours (missing fields, wrong types). */
export function decodeMetadata(text: string, path: string): Checkpoint | undefined {
  let data: Record<string, unknown>
  try {
    data = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof data !== 'object' || data === null) return undefined
  const strings = ['name', 'container', 'namespace', 'created'] as const
  const flags = ['tcp', 'unixSockets', 'shell', 'exit', 'fileLocks'] as const
  if (!strings.every((key) => typeof data[key] === 'string') || !flags.every((key) => typeof data[key] === 'boolean')) return undefined
  const created = new Date(data.created as string)
  if (Number.isNaN(created.getTime())) return undefined
  return {
    name: data.name as string,
    container: data.container as string,
    namespace: data.namespace as string,
    created,
    tcp: data.tcp as boolean,
    unixSockets: data.unixSockets as boolean,
    shell: data.shell as boolean,
    exit: data.exit as boolean,
    fileLocks: data.fileLocks as boolean,
    path,
  }
}

// -- list, delete ----------------------------------------------------------------------------------------

/**
 * The container's checkpoints, oldest first. Checkpoints outlive their container (to be restored), so they
 * are listed even when it is gone; with none, an unknown container is an error.
 */
export async function listCheckpoints(client: ContainerdClient, id: string, options: StoreOptions = {}): Promise<Checkpoint[]> {
  refuseOverSsh(client, 'checkpoints', 'checkpoints are kept in a store')
  const containerDir = await checkedContainerDir(checkpointRoot(options), client.namespace, id)
  const entries =
    containerDir === undefined
      ? []
      : await readdir(containerDir).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return [] as string[]
          throw storeError(error, containerDir)
        })
  const found = await Promise.all(entries.filter((entry) => NAME_PATTERN.test(entry)).map((entry) => readCheckpoint(join(containerDir!, entry))))
  const checkpoints = found.filter((c): c is Checkpoint => c !== undefined)
  if (checkpoints.length === 0) await requireContainer(client, id)
  return checkpoints.sort((a, b) => a.created.getTime() - b.created.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Deletes a checkpoint. It is first renamed to a hidden name, so a concurrent list or restore sees it
 * whole or not at all; empty parent directories go too.
 */
export async function deleteCheckpoint(
  client: ContainerdClient,
  id: string,
  name: string,
  options: StoreOptions = {},
): Promise<{container: string; name: string}> {
  refuseOverSsh(client, 'checkpoints', 'checkpoints are kept in a store')
  checkCheckpointName(name)
  const root = checkpointRoot(options)
  const containerDir = (await checkedContainerDir(root, client.namespace, id)) ?? containerCheckpointDir(root, client.namespace, id)
  const path = join(containerDir, name)
  const checkpoint = await readCheckpoint(path)
  if (!checkpoint) {
    await requireContainer(client, id)
    throw notFound(id, name)
  }
  const doomed = join(containerDir, `.${name}.deleted-${randomHex(6)}`)
  await rename(path, doomed).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw notFound(id, name)
    throw storeError(error, path)
  })
  await rm(doomed, {recursive: true, force: true})
  await removeEmptyDirs(containerDir, root)
  return {container: id, name}
}

/** The checkpoint in dir, or undefined if there is none (or not a complete one, or a symlink: never followed). */
export async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const info = await lstat(dir).catch(() => undefined)
  if (!info?.isDirectory()) return undefined
  const text = await readFile(join(dir, METADATA_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
    throw storeError(error, dir)
  })
  return text === undefined ? undefined : decodeMetadata(text, dir)
}

/** Finds a checkpoint by container and name, or fails with `checkpoint "n" not found for container "x"`. */
export async function getCheckpoint(client: ContainerdClient, id: string, name: string, options: StoreOptions = {}): Promise<Checkpoint> {
  refuseOverSsh(client, 'checkpoints', 'checkpoints are kept in a store')
  checkCheckpointName(name)
  const root = checkpointRoot(options)
  const path = join((await checkedContainerDir(root, client.namespace, id)) ?? containerCheckpointDir(root, client.namespace, id), name)
  const checkpoint = await readCheckpoint(path)
  if (!checkpoint) throw notFound(id, name)
  return checkpoint
}

// -- helpers ---------------------------------------------------------------------------------------------

/** Removes dir and its parents up to (not including) root while they are empty. */
export async function removeEmptyDirs(dir: string, root: string): Promise<void> {
  for (let current = dir; current.startsWith(root + '/') && current !== root; current = resolve(current, '..')) {
    try {
      await rmdir(current)
    } catch {
      return // not empty (or gone): stop
    }
  }
}

export const notFound = (id: string, name: string) => new CtrError('not-found', `checkpoint "${name}" not found for container "${id}"`)
export const alreadyExists = (id: string, name: string) => new CtrError('already-exists', `checkpoint "${name}" already exists for container "${id}"`)

export function storeError(error: NodeJS.ErrnoException, path: string): CtrError {
  const reason = error.code === 'EACCES' || error.code === 'EPERM' ? 'permission denied (checkpoints need root, or set CTR_CHECKPOINT_DIR)' : error.message
  return new CtrError(error.code === 'EACCES' || error.code === 'EPERM' ? 'permission-denied' : 'internal', `checkpoint store ${path}: ${reason}`, {
    cause: error,
  })
}
