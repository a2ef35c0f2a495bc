/**
 * Image names as Go ctr gives them on import: Docker references normalized (`busybox` →
 * `docker.io/library/busybox:latest`, distribution/reference's ParseDockerRef), OCI `ref.name` tags made
 * into names with --base-name or the `import-YYYY-MM-DD` prefix (images/archive/reference.go), and the
 * tag part of a name (containerd's reference.Parse Object) for `org.opencontainers.image.ref.name`.
 */
import {usageError} from '../containerd/errors'
import {ANNOTATION} from './media-types'

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*'
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}'
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`)
const NAME_MAX = 255

/**
 * A Docker reference (`busybox`, `acc/app:1`, `localhost:5000/x@sha256:...`) → its full form
 * (`docker.io/library/busybox:latest`, `docker.io/acc/app:1`); a digest wins over a tag; no tag means latest.
 */
export function normalizeDockerRef(ref: string): string {
  const bad = (why: string) => usageError(`invalid image reference "${ref}": ${why}`)
  if (/^[a-f0-9]{64}$/.test(ref)) throw bad('a 64-character hexadecimal string is an ID, not a name')
  const slash = ref.indexOf('/')
  let domain = 'docker.io'
  let remainder = ref
  if (slash >= 0) {
    const first = ref.slice(0, slash)
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first
      remainder = ref.slice(slash + 1)
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io'
  if (domain === 'docker.io' && !remainder.includes('/')) remainder = `library/${remainder}`
  const nameEnd = remainder.search(/[:@]/)
  const repository = nameEnd < 0 ? remainder : remainder.slice(0, nameEnd)
  if (repository.toLowerCase() !== repository) throw bad('repository name must be lowercase')
  const m = REFERENCE.exec(`${domain}/${remainder}`)
  if (!m) throw bad('not a valid name[:tag][@digest]')
  const [, name, tag, digest] = m
  if (name.length > NAME_MAX) throw bad(`name longer than ${NAME_MAX} characters`)
  if (digest) return `${name}@${digest}`
  return `${name}:${tag ?? 'latest'}`
}

/** The part of a name after its locator: `docker.io/a/b:1` → `1`, `x@sha256:..` → `@sha256:..` (reference.Parse). */
export function referenceObject(name: string): string {
  const slash = name.indexOf('/')
  if (slash < 0) return ''
  const path = name.slice(slash)
  const i = path.search(/[:@]/)
  if (i < 0) return ''
  return path[i] === ':' ? path.slice(i + 1) : path.slice(i)
}

/** Does `name` start with `prefix` at a component boundary (`foo/bar` matches `foo/bar:1`, not `foo/barx`)? */
function hasImagePrefix(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix)) return false
  return name.length === prefix.length || '/:@'.includes(name[prefix.length])
}

export interface NamingOptions {
  /**
   * --base-name: tag-only refs become `BASE:tag`, and full refs not under BASE are skipped. Without it,
   * tag-only refs become `import-YYYY-MM-DD:tag` and full refs are kept.
   */
  baseName?: string
  /** For the default prefix; the day of the import. */
  now?: Date
}

/** The default prefix for tag-only refs, as Go ctr: `import-2006-01-02` (local date). */
export function defaultImportPrefix(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `import-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
}

/**
 * The image name an index entry gets, or '' for none: `io.containerd.image.name` as it is, else
 * `org.opencontainers.image.ref.name` translated by the naming options.
 */
export function imageNameFor(annotations: Readonly<Record<string, string>> | undefined, options: NamingOptions = {}): string {
  const full = annotations?.[ANNOTATION.imageName]
  if (full) return full
  const ref = annotations?.[ANNOTATION.refName]
  if (!ref) return ''
  const prefix = options.baseName || defaultImportPrefix(options.now)
  if (/[/:@]/.test(ref)) {
    if (options.baseName && !hasImagePrefix(ref, options.baseName)) return ''
    return ref
  }
  return `${prefix}:${ref}`
}

/** Annotations for a Docker archive's RepoTag, as Go ctr writes them into the index it makes. */
export function dockerTagAnnotations(repoTag: string): Record<string, string> {
  const name = normalizeDockerRef(repoTag)
  return {[ANNOTATION.imageName]: name, [ANNOTATION.refName]: referenceObject(name)}
}
