/**
 * `images tag`: more names for an image, as Go ctr's `images tag` (one record per name, each a copy of the
 * source's target and labels). Names are normalized as pull names them. Every target is checked before any
 * is made, so an invalid or taken name (without `force`) leaves nothing; `force` points an existing record
 * at the source's target (Images.Update: the name never goes missing, unlike Go's delete and create).
 */
import {ImagesDefinition} from '../../gen/containerd/services/images/v1/images'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {requireImage} from './lookup'
import {normalizeDockerRef} from './naming'

export interface TagOptions {
  /** Replace a record of a target name that exists. */
  force?: boolean
  signal?: AbortSignal
}

export interface TaggedImage {
  name: string
  /** The source image's record name. */
  source: string
  digest: string
  /** It replaced a record of that name (--force). */
  replaced: boolean
}

export async function tagImage(client: ContainerdClient, source: string, targets: readonly string[], options: TagOptions = {}): Promise<TaggedImage[]> {
  const {signal} = options
  const names = [...new Set(targets.map((t) => normalizeDockerRef(t)))]
  const image = await requireImage(client, source, signal)
  const images = client.service(ImagesDefinition)
  const existing = new Set<string>()
  for (const name of names) {
    const found = await images.get({name}, {signal}).then(
      () => true,
      (error) => {
        if (error instanceof CtrError && error.kind === 'not-found') return false
        throw error
      },
    )
    if (!found) continue
    if (!options.force && name !== image.name)
      throw new CtrError('already-exists', `image "${name}" already exists in namespace "${client.namespace}" (use --force to replace it)`)
    existing.add(name)
  }
  const tagged: TaggedImage[] = []
  for (const name of names) {
    const record = {name, labels: image.labels, target: image.target}
    if (existing.has(name)) await images.update({image: record, updateMask: ['target', 'labels']}, {signal})
    else await images.create({image: record}, {signal})
    tagged.push({name, source: image.name, digest: image.target!.digest, replaced: existing.has(name)})
  }
  return tagged
}
