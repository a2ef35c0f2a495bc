/**
 * Leases: what an import writes (content, ingests, snapshots) is created under one, so the garbage
 * collector keeps it while the import runs and takes it when the import fails or is interrupted. The lease
 * also expires by itself (`containerd.io/gc.expire`), for a client killed before it could delete it.
 */
import {LeasesDefinition} from '../../gen/containerd/services/leases/v1/leases'
import type {ContainerdClient} from '../containerd/client'
import {withCleanupClient} from '../containerd/cleanup-client'
import {trackInFlight} from '../in-flight'
import {randomHex} from '../random-id'

export const LEASE_HEADER = 'containerd-lease'
export const EXPIRE_LABEL = 'containerd.io/gc.expire'

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
  await client.service(LeasesDefinition).create({id, labels: {[EXPIRE_LABEL]: expires}}, {signal: options.signal})
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
