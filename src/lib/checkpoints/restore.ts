/**
 * Restoring a container from a checkpoint: what `containers start --checkpoint NAME` hands to startContainer.
 */
import {readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {ContainersDefinition} from '../../gen/containerd/services/containers/v1/containers'
import {Options as RuncOptions} from '../../gen/containerd/runc/options/oci'
import type {Any} from '../../gen/google/protobuf/any'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {criuConfig, criuHint, criuReason, tidyDaemonMessage} from './criu'
import {getCheckpoint, type StoreOptions} from './store'

export const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options'
/** runc reads CRIU options for dump and restore from the file this spec annotation names. */
export const CRIU_CONFIG_ANNOTATION = 'org.criu.config'

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
    throw new CtrError(
      'already-exists',
      `container "${id}" already exists: delete it first (ctr containers delete ${id}) to restore it from checkpoint "${name}"; its checkpoints are kept`,
    )
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
  return new CtrError(error.kind, `restore of container "${id}" from checkpoint "${name}" failed: ${message}`, {
    cause: error,
    exitCode: error.exitCode,
    subject: {type: 'container', id},
  })
}
