/**
 * Leases: what an import writes (content, ingests, snapshots) is created under one, so the garbage
 * collector keeps it while the import runs and takes it when the import fails or is interrupted. The lease
 * also expires by itself (`containerd.io/gc.expire`), for a client killed before it could delete it.
 */
import {LeasesDefinition} from '../../gen/containerd/services/leases/v1/leases'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {withCleanupClient} from '../containerd/cleanup-client'
import {ownerState, ownerToken} from '../owner'
import {trackInFlight} from '../in-flight'
import {randomHex} from '../random-id'

export const LEASE_HEADER = 'containerd-lease'
export const EXPIRE_LABEL = 'containerd.io/gc.expire'
/** The ctr process that made the lease (src/lib/owner.ts): once it is dead, any ctr may delete the lease. */
export const OWNER_LABEL = 'io.ctr.owner'

export interface Lease {
  id: string
  /** What is left if the lease is never deleted: its ID, namespace, and when containerd lets it go. */
  description: string
  /** Call options for calls under the lease (metadata; add the signal). */
  metadata: Record<string, string>
  /**
   * Deletes the lease. `sync` waits for the garbage collection it triggers (a failed import: its content
   * and snapshots are gone when this returns). Works after an abort too: then it uses a fresh connection.
   */
  release(options?: {sync?: boolean}): Promise<void>
}

export async function createLease(client: ContainerdClient, options: {prefix: string; expiresInMs: number; signal?: AbortSignal}): Promise<Lease> {
  const id = `${options.prefix}-${Date.now()}-${randomHex(4)}`
  const expires = new Date(Date.now() + options.expiresInMs).toISOString()
  const owner = ownerToken()
  await client.service(LeasesDefinition).create({id, labels: {[EXPIRE_LABEL]: expires, ...(owner ? {[OWNER_LABEL]: owner} : {})}}, {signal: options.signal})
  const description = `lease "${id}" in namespace "${client.namespace}" (it expires at ${expires}; containerd's garbage collector then removes it and what it holds)`
  // Until deleted, what ctr says it leaves if it must exit at once (a second Ctrl-C).
  const forget = trackInFlight(description)
  return {
    id,
    description,
    metadata: {[LEASE_HEADER]: id},
    async release({sync = false} = {}) {
      await withCleanupClient(client, options.signal, (c) => c.service(LeasesDefinition).delete({id, sync}, {timeoutMs: sync ? 60_000 : undefined}))
      forget()
    },
  }
}

/**
 * Deletes the namespace's leases whose ctr died (SIGKILL) before it could: what they held (a half-prepared
 * snapshot, a partial download) goes to the garbage collector. `sync` waits for that collection. Leases of
 * live ctr processes, of other clients and of other PID namespaces stay. Resolves with the IDs deleted.
 */
export async function deleteDeadLeases(client: ContainerdClient, options: {sync?: boolean; signal?: AbortSignal} = {}): Promise<string[]> {
  const service = client.service(LeasesDefinition)
  const {leases} = await service.list({filters: [`labels."${OWNER_LABEL}"`]}, {signal: options.signal})
  const dead = leases.filter((l) => ownerState(l.labels[OWNER_LABEL]) === 'dead').map((l) => l.id)
  for (const [k, id] of dead.entries()) {
    // The collection runs once, after the last one.
    await service
      .delete({id, sync: Boolean(options.sync) && k === dead.length - 1}, {signal: options.signal, timeoutMs: options.sync ? 60_000 : undefined})
      .catch((error) => {
        if (!(error instanceof CtrError && error.kind === 'not-found')) throw error // another ctr swept it first
      })
  }
  return dead
}
