/**
 * Checkpoints of a container's task (CRIU through runc) and restoring from them.
 *
 * Where they live (README "Checkpoints: where they live"): in a directory ctr owns, one per checkpoint,
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
import {randomBytes} from 'node:crypto'
import {mkdir, readdir, readFile, rename, rm, rmdir, writeFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import {CheckpointOptions as CriuCheckpointOptions, Options as RuncOptions} from '../../gen/containerd/runc/options/oci'
import type {Any} from '../../gen/google/protobuf/any'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, usageError} from '../containerd/errors'
import {checkContainerId} from '../containers/containers'
import {getTask} from '../tasks/tasks'

export const CHECKPOINT_DIR_ENV = 'CTR_CHECKPOINT_DIR'
export const DEFAULT_CHECKPOINT_DIR = '/var/lib/ctr/checkpoints'
export const CHECKPOINT_OPTIONS_TYPE = 'containerd.runc.v1.CheckpointOptions'
export const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options'
/** runc reads CRIU options for dump and restore from the file this spec annotation names. */
export const CRIU_CONFIG_ANNOTATION = 'org.criu.config'
/** A dump takes as long as the process's memory takes to write: at least this long, whatever --timeout says. */
export const CHECKPOINT_MIN_TIMEOUT_MS = 120_000

const METADATA_FILE = 'checkpoint.json'
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const NAME_MAX_LENGTH = 76
/** containerd's identifier rule, which namespaces follow too. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/

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
    throw usageError(`invalid checkpoint name ${JSON.stringify(name)}: use letters, digits, . _ - (not starting with . _ -, no ".."), at most ${NAME_MAX_LENGTH} characters`)
  }
}

function checkNamespace(namespace: string): void {
  if (!NAMESPACE_PATTERN.test(namespace) || namespace.length > NAME_MAX_LENGTH) throw usageError(`invalid namespace "${namespace}"`)
}

/** The directory of a container's checkpoints; every component is validated so none can leave the root. */
export function containerCheckpointDir(root: string, namespace: string, id: string): string {
  checkNamespace(namespace)
  checkContainerId(id)
  return join(root, namespace, id)
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

/** CRIU configuration-file lines for the options a restore needs again (the runc shim passes none of them). */
export function criuConfig(flags: CheckpointFlags): string {
  const lines = [flags.tcp && 'tcp-established', flags.unixSockets && 'ext-unix-sk', flags.shell && 'shell-job', flags.fileLocks && 'file-locks']
  return lines.filter(Boolean).join('\n')
}

// -- create ----------------------------------------------------------------------------------------------

export interface CreateCheckpointOptions extends Partial<CheckpointFlags>, StoreOptions {
  id: string
  name: string
  signal?: AbortSignal
}

/**
 * Checkpoints the container's running task into the store. The task is not paused around it (Go ctr does
 * so for its rootfs diff, which ctr does not take): CRIU freezes the process tree itself, and an
 * interrupted ctr can then never leave a task paused. Without `exit` the task keeps running, also when
 * CRIU fails. On failure nothing is left in the store and the error carries CRIU's reason in one line.
 */
export async function createCheckpoint(client: ContainerdClient, options: CreateCheckpointOptions): Promise<Checkpoint> {
  const {id, name} = options
  checkCheckpointName(name)
  const root = checkpointRoot(options)
  const containerDir = containerCheckpointDir(root, client.namespace, id)
  const path = join(containerDir, name)
  if (await readCheckpoint(path)) throw alreadyExists(id, name)
  await requireRunningTask(client, id)

  const flags: CheckpointFlags = {
    tcp: Boolean(options.tcp),
    unixSockets: Boolean(options.unixSockets),
    shell: Boolean(options.shell),
    exit: Boolean(options.exit),
    fileLocks: Boolean(options.fileLocks),
  }
  for (const dir of [root, containerDir]) {
    await mkdir(dir, {recursive: true, mode: 0o700}).catch((error) => {
      throw storeError(error, dir)
    })
  }
  // Hidden (a valid name never starts with '.') and unique, so list never shows it and runs never collide.
  const staging = join(containerDir, `.${name}.${randomBytes(6).toString('hex')}`)
  const images = join(staging, 'images')
  const work = join(staging, 'work')
  try {
    await mkdir(staging, {mode: 0o700})
    await mkdir(images, {mode: 0o700})
    await mkdir(work, {mode: 0o700})
    const criuOptions = CriuCheckpointOptions.fromPartial({
      exit: flags.exit,
      openTcp: flags.tcp,
      externalUnixSockets: flags.unixSockets,
      terminal: flags.shell,
      fileLocks: flags.fileLocks,
      imagePath: images,
      workPath: work,
    })
    const timeoutMs = client.timeoutMs ? Math.max(client.timeoutMs, CHECKPOINT_MIN_TIMEOUT_MS) : null
    await client
      .service(TasksDefinition)
      .checkpoint(
        {containerId: id, parentCheckpoint: '', options: {typeUrl: CHECKPOINT_OPTIONS_TYPE, value: Buffer.from(CriuCheckpointOptions.encode(criuOptions).finish())}},
        {timeoutMs, signal: options.signal},
      )
      .catch(async (error) => {
        throw await checkpointError(error, id, name, join(work, 'dump.log'))
      })
    const config = criuConfig(flags)
    if (config) await writeFile(join(staging, 'criu.conf'), config + '\n', {mode: 0o600})
    const checkpoint: Checkpoint = {name, container: id, namespace: client.namespace, created: new Date(), ...flags, path}
    await writeFile(join(staging, METADATA_FILE), encodeMetadata(checkpoint), {mode: 0o600})
    await rename(staging, path).catch((error: NodeJS.ErrnoException) => {
      // Another run made the same checkpoint meanwhile (its directory is never empty).
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') throw alreadyExists(id, name)
      throw error
    })
    return checkpoint
  } catch (error) {
    await rm(staging, {recursive: true, force: true})
    await removeEmptyDirs(containerDir, root)
    throw error
  }
}

async function requireRunningTask(client: ContainerdClient, id: string): Promise<void> {
  const task = await getTask(client, id)
  if (!task) {
    await requireContainer(client, id)
    throw new CtrError('failed-precondition', `container "${id}" has no running task to checkpoint (start it first)`)
  }
  if (task.status !== 'running' && task.status !== 'paused') {
    throw new CtrError('failed-precondition', `container "${id}" is ${task.status}: only a running task can be checkpointed`)
  }
}

/**
 * The daemon's error for a failed dump names only criu's exit ("criu failed: type DUMP errno 0 path=
 * <the shim's copy of dump.log>"); the reason is in dump.log, which CRIU wrote into our work dir.
 */
async function checkpointError(error: unknown, id: string, name: string, dumpLog: string): Promise<unknown> {
  if (!(error instanceof CtrError) || error.kind === 'cancelled') return error
  const prefix = `checkpoint "${name}" of container "${id}" failed: `
  if (error.kind === 'not-found') return new CtrError('not-found', `${prefix}${error.message}`, {cause: error})
  const log = await readFile(dumpLog, 'utf8').catch(() => '')
  const reason = criuReason(log)
  const message = reason ? `criu: ${reason}${criuHint(reason)}` : tidyDaemonMessage(error.message)
  return new CtrError(error.kind, prefix + message, {cause: error, exitCode: error.exitCode})
}

/** Drops the log path and the gRPC suffix from the daemon's message, and anything after its first line. */
export function tidyDaemonMessage(message: string): string {
  return message.split('\n')[0].replace(/: unknown$/, '').replace(/\s*path=\s*\S*$/, '')
}

/** Generic lines CRIU prints after the real cause, or for probes it recovers from. */
const GENERIC_CRIU_ERROR = /exited, status=\d+|(Dumping|Restoring) FAILED|failed with -?\d+|^kerndat_\w+ failed|failed when initializing kerndat/i

/**
 * The cause of a CRIU failure from its log: CRIU logs a cause and then the steps that failed because of
 * it, so it is the first specific line of the last run of adjacent error lines. Undefined without errors.
 */
export function criuReason(log: string): string | undefined {
  const lines = log.split('\n')
  const groups: string[][] = []
  let previous = -2
  lines.forEach((line, index) => {
    const match = /\bError \([^)]*\):\s*(.*?)\s*$/.exec(line)
    if (!match) return
    if (index !== previous + 1) groups.push([])
    groups.at(-1)!.push(match[1])
    previous = index
  })
  for (let i = groups.length - 1; i >= 0; i--) {
    const specific = groups[i].find((message) => message && !GENERIC_CRIU_ERROR.test(message))
    if (specific) return specific
  }
  return groups.at(-1)?.at(-1) || undefined
}

/** CRIU names its own options in its advice; say which ctr flag that is. */
function criuHint(reason: string): string {
  const flag = /--tcp-established/.test(reason) ? '--tcp' : /--ext-unix-sk/.test(reason) ? '--unix-sockets' : /--shell-job/.test(reason) ? '--shell' : /--file-locks/.test(reason) ? '--file-locks' : undefined
  return flag ? ` (ctr checkpoints create ${flag})` : ''
}

// -- list, delete ----------------------------------------------------------------------------------------

/**
 * The container's checkpoints, oldest first. Checkpoints outlive their container (to be restored), so they
 * are listed even when it is gone; with none, an unknown container is an error.
 */
export async function listCheckpoints(client: ContainerdClient, id: string, options: StoreOptions = {}): Promise<Checkpoint[]> {
  const containerDir = containerCheckpointDir(checkpointRoot(options), client.namespace, id)
  const entries = await readdir(containerDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[]
    throw storeError(error, containerDir)
  })
  const found = await Promise.all(entries.filter((entry) => NAME_PATTERN.test(entry)).map((entry) => readCheckpoint(join(containerDir, entry))))
  const checkpoints = found.filter((c): c is Checkpoint => c !== undefined)
  if (checkpoints.length === 0) await requireContainer(client, id)
  return checkpoints.sort((a, b) => a.created.getTime() - b.created.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Deletes a checkpoint. It is first renamed to a hidden name, so a concurrent list or restore sees it
 * whole or not at all; empty parent directories go too.
 */
export async function deleteCheckpoint(client: ContainerdClient, id: string, name: string, options: StoreOptions = {}): Promise<{container: string; name: string}> {
  checkCheckpointName(name)
  const root = checkpointRoot(options)
  const containerDir = containerCheckpointDir(root, client.namespace, id)
  const path = join(containerDir, name)
  const checkpoint = await readCheckpoint(path)
  if (!checkpoint) {
    await requireContainer(client, id)
    throw notFound(id, name)
  }
  const doomed = join(containerDir, `.${name}.deleted-${randomBytes(6).toString('hex')}`)
  await rename(path, doomed).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw notFound(id, name)
    throw storeError(error, path)
  })
  await rm(doomed, {recursive: true, force: true})
  await removeEmptyDirs(containerDir, root)
  return {container: id, name}
}

/** The checkpoint in dir, or undefined if there is none (or not a complete one). */
async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const text = await readFile(join(dir, METADATA_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
    throw storeError(error, dir)
  })
  return text === undefined ? undefined : decodeMetadata(text, dir)
}

/** Finds a checkpoint by container and name, or fails with `checkpoint "n" not found for container "x"`. */
export async function getCheckpoint(client: ContainerdClient, id: string, name: string, options: StoreOptions = {}): Promise<Checkpoint> {
  checkCheckpointName(name)
  const path = join(containerCheckpointDir(checkpointRoot(options), client.namespace, id), name)
  const checkpoint = await readCheckpoint(path)
  if (!checkpoint) throw notFound(id, name)
  return checkpoint
}

// -- restore ---------------------------------------------------------------------------------------------

export interface Restore {
  /** Tasks.Create's options: runc Options{criu_image_path, criu_work_path}. */
  options: Any
  /** Spec annotations for the restored container (org.criu.config when the dump needed CRIU options). */
  annotations?: Record<string, string>
  /** A failed restore's error in one line with CRIU's reason (from restore.log), other errors as they are. */
  explain(error: unknown): Promise<unknown>
}

/**
 * What `containers start --checkpoint NAME` hands to startContainer's `restore`. containerd 1.6 restores
 * from a directory when Tasks.Create's runc Options carry criu_image_path (services/tasks/local.go
 * getRestorePath → CreateOpts.Checkpoint → the shim's `runc restore --image-path`); criu_work_path keeps
 * CRIU's restore.log with the checkpoint. The container must not exist yet: start creates it.
 */
export async function restoreFrom(client: ContainerdClient, id: string, name: string, options: StoreOptions = {}): Promise<Restore> {
  const checkpoint = await getCheckpoint(client, id, name, options)
  const exists = await client
    .service(ContainersDefinition)
    .get({id})
    .then(() => true)
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') return false
      throw error
    })
  if (exists) {
    throw new CtrError('already-exists', `container "${id}" already exists: delete it first (ctr containers delete ${id}) to restore it from checkpoint "${name}"; its checkpoints are kept`)
  }
  const work = join(checkpoint.path, 'work')
  const restoreLog = join(work, 'restore.log')
  // A previous restore's log must not explain this one's failure.
  await rm(restoreLog, {force: true})
  const runcOptions = RuncOptions.fromPartial({criuImagePath: join(checkpoint.path, 'images'), criuWorkPath: work})
  const restore: Restore = {
    options: {typeUrl: RUNC_OPTIONS_TYPE, value: Buffer.from(RuncOptions.encode(runcOptions).finish())},
    explain: (error) => restoreError(error, id, name, restoreLog),
  }
  if (criuConfig(checkpoint)) restore.annotations = {[CRIU_CONFIG_ANNOTATION]: join(checkpoint.path, 'criu.conf')}
  return restore
}

/** runc's restore error is two lines ("criu failed: type RESTORE errno 0" and "log file: ..."): the reason is in the log. */
async function restoreError(error: unknown, id: string, name: string, restoreLog: string): Promise<unknown> {
  if (!(error instanceof CtrError) || !/criu|restore failed/i.test(error.message)) return error
  const reason = criuReason(await readFile(restoreLog, 'utf8').catch(() => ''))
  const message = reason ? `criu: ${reason}${criuHint(reason)}` : tidyDaemonMessage(error.message)
  return new CtrError(error.kind, `restore of container "${id}" from checkpoint "${name}" failed: ${message}`, {cause: error, exitCode: error.exitCode})
}

// -- helpers ---------------------------------------------------------------------------------------------

async function requireContainer(client: ContainerdClient, id: string): Promise<void> {
  await client
    .service(ContainersDefinition)
    .get({id})
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') throw new CtrError('not-found', `container "${id}" not found`, {cause: error})
      throw error
    })
}

/** Removes dir and its parents up to (not including) root while they are empty. */
async function removeEmptyDirs(dir: string, root: string): Promise<void> {
  for (let current = dir; current.startsWith(root + '/') && current !== root; current = resolve(current, '..')) {
    try {
      await rmdir(current)
    } catch {
      return // not empty (or gone): stop
    }
  }
}

const notFound = (id: string, name: string) => new CtrError('not-found', `checkpoint "${name}" not found for container "${id}"`)
const alreadyExists = (id: string, name: string) => new CtrError('already-exists', `checkpoint "${name}" already exists for container "${id}"`)

function storeError(error: NodeJS.ErrnoException, path: string): CtrError {
  const reason = error.code === 'EACCES' || error.code === 'EPERM' ? 'permission denied (checkpoints need root, or set CTR_CHECKPOINT_DIR)' : error.message
  return new CtrError(error.code === 'EACCES' || error.code === 'EPERM' ? 'permission-denied' : 'internal', `checkpoint store ${path}: ${reason}`, {cause: error})
}
