/**
 * Image records, the last step of an import or a pull: Images.Create, or Images.Update of the target when
 * the name exists (its labels kept). Each change is noted so a failure later in the same operation (or an
 * interrupt) can put back what was there: images created are deleted, images updated point where they did.
 */
import {ImagesDefinition, type Image} from '../../gen/containerd/services/images/v1/images'
import {withCleanupClient} from '../containerd/cleanup-client'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import type {Descriptor} from './content'

/** One record changed by saveImageRecords: its name, and the record before (none: it was created). */
export interface ChangedRecord {
  name: string
  previous?: Image
}

/**
 * Creates or updates one record per item (setting `created`), appending each change to `changed` before it
 * is made, for rollbackImageRecords.
 */
export async function saveImageRecords(
  client: ContainerdClient,
  items: Array<{name: string; target: Descriptor; created: boolean}>,
  changed: ChangedRecord[],
  signal?: AbortSignal,
): Promise<void> {
  const images = client.service(ImagesDefinition)
  for (const item of items) {
    const target = {mediaType: item.target.mediaType, digest: item.target.digest, size: BigInt(item.target.size), annotations: item.target.annotations ?? {}}
    // Twice at most: a record another pull or import creates between our Get and our Create is updated, as
    // Go's client does (never deleted by our roll-back: it was not ours).
    for (let attempt = 0; ; attempt++) {
      const previous = await images.get({name: item.name}, {signal}).then(
        (r) => r.image,
        (error) => {
          if (error instanceof CtrError && error.kind === 'not-found') return undefined
          throw error
        },
      )
      if (previous) {
        changed.push({name: item.name, previous})
        await images.update({image: {name: item.name, labels: previous.labels, target}, updateMask: ['target']}, {signal})
        break
      }
      const entry: ChangedRecord = {name: item.name}
      changed.push(entry)
      try {
        await images.create({image: {name: item.name, target}}, {signal})
        item.created = true
        break
      } catch (error) {
        if (!(error instanceof CtrError && error.kind === 'already-exists') || attempt > 0) throw error
        changed.splice(changed.indexOf(entry), 1)
      }
    }
  }
}

/** Puts image records back as they were before (deleting the ones created); over a fresh connection after an abort. */
export async function rollbackImageRecords(client: ContainerdClient, changed: ChangedRecord[], signal?: AbortSignal): Promise<void> {
  if (changed.length === 0) return
  await withCleanupClient(client, signal, async (c) => {
    const images = c.service(ImagesDefinition)
    for (const {name, previous} of changed.reverse()) {
      if (previous) await images.update({image: previous, updateMask: ['target']}).catch(() => undefined)
      else await images.delete({name, sync: false}).catch(() => undefined)
    }
  })
}
