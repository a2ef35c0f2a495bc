/**
 * Registry references: `busybox` → docker.io/library/busybox:latest (normalizeDockerRef, shared with
 * import's naming), split into the registry host, the repository and the tag or digest to fetch.
 */
import {normalizeDockerRef} from '../images/naming'

export interface RegistryReference {
  /** The image's name as containerd stores it: `docker.io/library/busybox:latest`, `host:5000/app@sha256:..`. */
  name: string
  /** The registry in the name (`docker.io`, `127.0.0.1:5000`). */
  domain: string
  repository: string
  tag?: string
  digest?: string
}

export function parseReference(ref: string): RegistryReference {
  const name = normalizeDockerRef(ref)
  const slash = name.indexOf('/')
  const domain = name.slice(0, slash)
  const rest = name.slice(slash + 1)
  const at = rest.indexOf('@')
  if (at >= 0) return {name, domain, repository: rest.slice(0, at), digest: rest.slice(at + 1)}
  const colon = rest.lastIndexOf(':')
  return {name, domain, repository: rest.slice(0, colon), tag: rest.slice(colon + 1)}
}

/** The host that serves a domain's API (Docker Hub's is not docker.io). */
export function apiHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain
}
