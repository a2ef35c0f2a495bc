/**
 * A start's named volumes (`-v NAME:PATH`): each made if missing and, on its first use by a container from
 * an image, filled from the image's content at PATH (fill.ts); then a bind mount of its directory, and the
 * names for the container's VOLUMES_LABEL. A volume a failed start made stays, as docker's does
 * (`volumes prune` removes it).
 */
import {isVolumeMount, type OciMount, type VolumeMount} from '../containers/run-options'
import type {RootDir} from '../containers/in-root'
import {fillFromImage} from './fill'
import {prepareVolume, VOLUMES_LABEL} from './volumes'

export interface PreparedVolumes {
  /** The mounts in the order given, named volumes as bind mounts of their directories. */
  mounts: OciMount[]
  /** The container's label naming its volumes (none without named volumes). */
  labels: Record<string, string>
}

export async function prepareVolumeMounts(
  namespace: string,
  mounts: ReadonlyArray<OciMount | VolumeMount>,
  options: {imageRoot?: () => Promise<RootDir>; root?: string; signal?: AbortSignal} = {},
): Promise<PreparedVolumes> {
  const names: string[] = []
  const out: OciMount[] = []
  for (const m of mounts) {
    if (!isVolumeMount(m)) {
      out.push(m)
      continue
    }
    const image = options.imageRoot
    const fill = m.copy && image ? async (data: string) => void (await fillFromImage(await image(), m.destination, data, options.signal)) : undefined
    const {mountpoint} = await prepareVolume(namespace, m.volume, {root: options.root, signal: options.signal, fill})
    if (!names.includes(m.volume)) names.push(m.volume)
    out.push({destination: m.destination, type: 'bind', source: mountpoint, options: ['rbind', m.readOnly ? 'ro' : 'rw']})
  }
  return {mounts: out, labels: names.length > 0 ? {[VOLUMES_LABEL]: names.join(',')} : {}}
}
