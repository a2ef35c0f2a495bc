/**
 * Finding an image record by the name a user typed: the record of that exact name, else (for a short
 * Docker name) the record of its normalized form, `busybox` → `docker.io/library/busybox:latest`, as pull
 * names it. Missing: one not-found error naming the image and the namespace.
 */
import {ImagesDefinition, type Image} from '../../gen/containerd/services/images/v1/images'
import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {normalizeDockerRef} from './naming'

async function getImage(client: ContainerdClient, name: string, signal?: AbortSignal): Promise<Image | undefined> {
  try {
    return (await client.service(ImagesDefinition).get({name}, {signal})).image
  } catch (error) {
    if (error instanceof CtrError && error.kind === 'not-found') return undefined
    throw error
  }
}

/** The normalized form of `name`, or undefined when it is not a Docker reference (an `import-...` name is). */
export function normalizedName(name: string): string | undefined {
  try {
    return normalizeDockerRef(name)
  } catch {
    return undefined
  }
}

/** The image record `name` designates (exact name first, then its normalized form). */
export async function requireImage(client: ContainerdClient, name: string, signal?: AbortSignal): Promise<Image> {
  const exact = await getImage(client, name, signal)
  if (exact?.target) return exact
  const normalized = normalizedName(name)
  const found = normalized && normalized !== name ? await getImage(client, normalized, signal) : undefined
  if (found?.target) return found
  throw new CtrError('not-found', `image "${name}" not found in namespace "${client.namespace}"`)
}
