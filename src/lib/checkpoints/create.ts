/**
 * Creating a checkpoint (CRIU through runc). It appears in the store all at once: CRIU writes into a hidden
 * staging directory that is renamed into place only after it succeeded and checkpoint.json is written; on
 * failure the staging directory is removed.
 */
import {refuseOverSsh} from '../ssh/remote'
import {randomHex} from '../random-id'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import {CheckpointOptions as CriuCheckpointOptions} from '../../gen/containerd/runc/options/oci'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireContainer} from '../containers/containers'
import {getTask} from '../tasks/tasks'
import {criuConfig, criuHint, criuReason, tidyDaemonMessage} from './criu'
import {
  alreadyExists,
  type Checkpoint,
  type CheckpointFlags,
  checkCheckpointName,
  checkedContainerDir,
  checkpointRoot,
  containerCheckpointDir,
  encodeMetadata,
  METADATA_FILE,
  readCheckpoint,
  removeEmptyDirs,
  type StoreOptions,
} from './store'

export const CHECKPOINT_OPTIONS_TYPE = 'containerd.runc.v1.CheckpointOptions'
/** A dump takes as long as the process's memory takes to write: at least this long, whatever --timeout says. */
export const CHECKPOINT_MIN_TIMEOUT_MS = 120_000

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
  refuseOverSsh(client, 'checkpoints', 'checkpoints are kept in a store')
  checkCheckpointName(name)
  const root = checkpointRoot(options)
  const containerDir = containerCheckpointDir(root, client.namespace, id)
  const path = join(containerDir, name)
  await checkedContainerDir(root, client.namespace, id) // what exists must be safe before anything is read
  if (await readCheckpoint(path)) throw alreadyExists(id, name)
  await requireRunningTask(client, id)

  const flags: CheckpointFlags = {
    tcp: Boolean(options.tcp),
    unixSockets: Boolean(options.unixSockets),
    shell: Boolean(options.shell),
    exit: Boolean(options.exit),
    fileLocks: Boolean(options.fileLocks),
  }
  await checkedContainerDir(root, client.namespace, id, {create: true})
  // Hidden (a valid name never starts with '.') and unique, so list never shows it and runs never collide.
  const staging = join(containerDir, `.${name}.${randomHex(6)}`)
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
        {
          containerId: id,
          parentCheckpoint: '',
          options: {typeUrl: CHECKPOINT_OPTIONS_TYPE, value: Buffer.from(CriuCheckpointOptions.encode(criuOptions).finish())},
        },
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
  // The connection went (daemon killed mid-dump): CRIU's log then only says its own peer vanished ("Can't
  // send response: Broken pipe"); the lost connection is what happened.
  if (error.kind === 'unavailable') {
    return new CtrError('unavailable', `${prefix}${error.message} (nothing was stored; the dump may still have run)`, {cause: error})
  }
  const log = await readFile(dumpLog, 'utf8').catch(() => '')
  const reason = criuReason(log)
  const message = reason ? `criu: ${reason}${criuHint(reason)}` : tidyDaemonMessage(error.message)
  return new CtrError(error.kind, prefix + message, {cause: error, exitCode: error.exitCode})
}
