/**
 * One image transaction, the skeleton import and pull share (Go's client runs both the same way: WithLease
 * around Fetch/Import, Unpack, then Images.Create/Update):
 *
 *   lease → work (resolve, write blobs, unpack: the caller's) → blob labels → image records → lease deleted
 *
 * Everything written is under one lease (expiring by itself after an hour, carrying the owner label), so a
 * failure or an interrupt at any step rolls back by putting the image records back and deleting the lease
 * with a synchronous garbage collection: nothing is left. A daemon that answers nothing (paused, hung)
 * would hold the roll-back for whole deadlines: then the lease is left to expire, and the error names it
 * (CtrError.left), as it does when it cannot be deleted.
 */
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CLEANUP_TIMEOUT_MS, daemonAnswers, PROBE_TIMEOUT_MS} from '../containerd/cleanup-client'
import {CtrError} from '../containerd/errors'
import {type Descriptor, setBlobLabels} from './content'
import {createLease, deleteDeadLeases, type Lease} from './lease'
import type {PlatformMatcher} from './platform'
import {type ChangedRecord, rollbackImageRecords, saveImageRecords} from './records'
import type {ImageBlobs, Resolved} from './resolve'
import {DEFAULT_SNAPSHOTTER, unpackImages, type UnpackResult} from './unpack'

const LEASE_EXPIRY_MS = 60 * 60 * 1000

export interface TransactionOptions {
  /** `import` or `pull`: the lease's prefix (`ctr-import-...`) and the word in "import interrupted". */
  operation: 'import' | 'pull'
  signal?: AbortSignal
  /** Default overlayfs. */
  snapshotter?: string
  onUnpackLayer?: (image: string, layer: number, layers: number) => void
  /**
   * Also delete the leases of ctr processes that died (SIGKILL) before they could, at the end: their partial
   * downloads this transaction needed are in its own lease by then (a pull).
   */
  sweepDeadLeases?: boolean
}

/** An image record to create or update at the end (`created` is set then). */
export interface ImageRecord {
  name: string
  target: Descriptor
  created: boolean
}

/** What the work inside a transaction uses: the lease, call options under it, labels, the unpack. */
export class ImageTransaction {
  /** Lease metadata and the abort signal: for every call that writes. */
  readonly call: CallOptions
  /** Labels to set on blobs before the records are made (GC references, distribution sources), by digest. */
  readonly labels = new Map<string, Record<string, string>>()

  constructor(
    private readonly client: ContainerdClient,
    readonly lease: Lease,
    private readonly options: TransactionOptions,
  ) {
    this.call = {metadata: lease.metadata, signal: options.signal}
  }

  /** Adds labels for a blob (merged with those already noted). */
  label(digest: string, labels: Record<string, string>): void {
    this.labels.set(digest, {...this.labels.get(digest), ...labels})
  }

  /** Unpacks each image's best manifest for `matcher` under the lease (`ready`: a layer's blob is in). */
  unpack(images: Resolved[], blobs: ImageBlobs, matcher: PlatformMatcher, ready?: (digest: string) => Promise<void>) {
    return unpackImages(this.client, images, blobs, matcher, {
      snapshotter: this.options.snapshotter || DEFAULT_SNAPSHOTTER,
      call: this.call,
      ready,
      onLayer: this.options.onUnpackLayer,
    })
  }
}

export type Unpacked = UnpackResult & {platform: string}

/**
 * Runs `work` (which writes and unpacks under the transaction's lease and returns the images to record),
 * then labels the blobs, creates or updates the records, and deletes the lease; or rolls everything back.
 */
export async function runImageTransaction<T extends ImageRecord>(
  client: ContainerdClient,
  options: TransactionOptions,
  work: (tx: ImageTransaction) => Promise<T[]>,
): Promise<T[]> {
  const {signal, operation} = options
  const lease = await createLease(client, {prefix: `ctr-${operation}`, expiresInMs: LEASE_EXPIRY_MS, signal})
  const tx = new ImageTransaction(client, lease, options)
  const changed: ChangedRecord[] = []
  try {
    const images = await work(tx)
    for (const [digest, set] of tx.labels) await setBlobLabels(client, digest, set, tx.call)
    signal?.throwIfAborted()
    await saveImageRecords(client, images, changed, signal)
    changed.length = 0
    if (options.sweepDeadLeases) await deleteDeadLeases(client, {signal}).catch(() => undefined)
    await lease.release()
    return images
  } catch (error) {
    throw await rollBack(client, options, lease, changed, error)
  }
}

/** Puts the records back and deletes the lease; resolves with the error to report. */
async function rollBack(client: ContainerdClient, options: TransactionOptions, lease: Lease, changed: ChangedRecord[], error: unknown): Promise<unknown> {
  const {signal} = options
  const unanswered = Boolean(signal?.aborted) || (error instanceof CtrError && error.kind === 'deadline-exceeded')
  const silent = unanswered && (await daemonAnswers(client, Math.min(client.timeoutMs || CLEANUP_TIMEOUT_MS, PROBE_TIMEOUT_MS))) === 'silent'
  if (!silent) await rollbackImageRecords(client, changed, signal)
  if (!silent && options.sweepDeadLeases && !signal?.aborted) await deleteDeadLeases(client).catch(() => undefined)
  const released =
    !silent &&
    (await lease.release({sync: true}).then(
      () => true,
      () => false,
    ))
  const failure =
    signal?.aborted && !(error instanceof CtrError && error.kind === 'cancelled')
      ? new CtrError('cancelled', `${options.operation} interrupted`, {cause: error})
      : error
  if (released || !(failure instanceof CtrError)) return failure
  const left = `containerd ${silent ? 'did not answer' : 'could not be reached'} to clean up; left: ${lease.description}`
  return new CtrError(failure.kind, `${failure.message}; ${left}`, {cause: failure, exitCode: failure.exitCode, left})
}
