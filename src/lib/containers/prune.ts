/**
 * `containers prune`: deletes every stopped container of the namespace (a task whose process exited, or no
 * task and ctr's exit label) with its log, as `docker container prune` does. A container that starts meanwhile is refused by
 * deleteContainer (no --force here), never killed. It also removes what ctr processes killed with SIGKILL
 * left: half-started containers (tasks/start.ts isDeadHalfStart) with their snapshots, their leases (and so
 * the snapshots and partial downloads only those held), and their stdio FIFO directories in $TMPDIR.
 */
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {deleteDeadLeases} from '../images/lease'
import {isDeadHalfStart} from '../tasks/start'
import {removeDeadFifoDirs} from '../tasks/stdio'
import {type ContainerFilter, deleteContainer, listContainers} from './containers'
import type {FilterAlternative} from './filters'

export interface PruneOptions {
  /** Only containers matching these too (the list's --filter). */
  filters?: readonly ContainerFilter[]
  /** containerd-style filters (./filters.ts), ORed. */
  where?: readonly FilterAlternative[]
  keepLogs?: boolean
  /** Called as each container is deleted (the CLI prints its ID). */
  onDeleted?: (id: string) => void
}

export interface PruneResult {
  deleted: string[]
  failures: Array<{id: string; error: CtrError}>
}

export async function pruneContainers(client: ContainerdClient, options: PruneOptions = {}): Promise<PruneResult> {
  const stopped = (await listContainers(client, {filters: options.filters, where: options.where})).filter(
    (c) => c.status === 'stopped' || (c.status === 'created' && isDeadHalfStart(c, {status: c.status})),
  )
  const result: PruneResult = {deleted: [], failures: []}
  for (const {id} of stopped) {
    try {
      await deleteContainer(client, id, {keepLog: options.keepLogs})
      result.deleted.push(id)
      options.onDeleted?.(id)
    } catch (error) {
      if (error instanceof CtrError && error.kind === 'cancelled') throw error
      if (error instanceof CtrError && error.kind === 'not-found') continue // deleted by someone else meanwhile
      result.failures.push({
        id,
        error: error instanceof CtrError ? error : new CtrError('internal', String((error as Error)?.message ?? error), {cause: error}),
      })
    }
  }
  await deleteDeadLeases(client, {sync: true})
  await removeDeadFifoDirs().catch(() => undefined)
  return result
}
