/**
 * What a start may change in the container's runtime spec beyond its process (issue 24): mounts (Go ctr's
 * `--mount`, docker's `-v` and `--tmpfs`), resource limits, the user, working directory, hostname, a
 * read-only root, labels, privileges and capabilities. Parsed here from the text users type, checked before
 * anything is created, and applied in one call to the spec that is sent (a bundle's config.json on disk is
 * never changed). Errors name the option in the library's words (optionError); the CLI names its flags.
 */
import {readFile, stat} from 'node:fs/promises'
import {posix, resolve} from 'node:path'

import {CtrError, optionError} from '../containerd/errors'
import type {RootDir} from './in-root'
import {parseByteSize} from '../logs/log-options'
import {lookupIds, parseUserSpec, type UserSpec} from '../tasks/users'
import {isVolumeName} from '../volumes/volumes'
import type {OciSpec} from './bundle'

/** An OCI mount as config.json holds it. */
export interface OciMount {
  destination: string
  type: string
  source: string
  options: string[]
}

/** `-v NAME:PATH`: a named volume (volumes/volumes.ts), made a bind mount of its directory when the start prepares it. */
export interface VolumeMount {
  volume: string
  destination: string
  readOnly: boolean
  /** Fill a new (empty) volume from the image's content at the destination (docker's default; `nocopy` turns it off). */
  copy: boolean
}

export const isVolumeMount = (m: OciMount | VolumeMount): m is VolumeMount => 'volume' in m

export interface RunSettings {
  /** Mounts added to the spec's (one at the same destination replaces it, as Go's WithMounts), in the order given. */
  mounts?: Array<OciMount | VolumeMount>
  /** Memory limit in bytes (linux.resources.memory.limit). */
  memory?: number
  /** CPUs as a CFS quota over a 100 ms period (linux.resources.cpu quota/period). */
  cpus?: number
  /** Relative CPU weight (linux.resources.cpu.shares). */
  cpuShares?: number
  /** Maximum number of processes (linux.resources.pids.limit). */
  pidsLimit?: number
  /** The process's user and group: numbers, or names from the root filesystem's /etc/passwd and /etc/group. */
  user?: UserSpec
  /** The process's working directory (absolute). */
  cwd?: string
  hostname?: string
  /** Mount the root filesystem read-only. */
  readOnly?: boolean
  /** All capabilities, no masked or read-only paths, no seccomp, every device allowed in the cgroup. */
  privileged?: boolean
  /** Capabilities added and dropped (CAP_ names, or ALL), after privileged. */
  capAdd?: string[]
  capDrop?: string[]
}

/** Linux's capabilities up to 5.x (what runc 1.1 knows). */
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const

const CFS_PERIOD = 100_000

const bad = (option: string, text: string, why: string) => optionError('usage', (o) => `invalid ${o(option)} ${JSON.stringify(text)}: ${why}`)

/**
 * Go ctr's `--mount`: comma-separated key=value, `type=bind|tmpfs|...`, `src=`/`source=`, `dst=`/
 * `destination=`/`target=`, `options=a:b` (colon-separated). A bind mount gets `rbind` unless it names
 * `bind` or `rbind`; its source must exist (resolved against the working directory).
 */
export async function parseMount(text: string): Promise<OciMount> {
  const fields: Record<string, string> = {}
  for (const part of text.split(',')) {
    const at = part.indexOf('=')
    if (at <= 0) throw bad('mount', text, `"${part}" is not KEY=VALUE (type=bind,src=HOST,dst=PATH[,options=rbind:ro])`)
    const key = part.slice(0, at).trim().toLowerCase()
    const name = {src: 'source', source: 'source', dst: 'destination', destination: 'destination', target: 'destination', type: 'type', options: 'options'}[key]
    if (!name) throw bad('mount', text, `unknown key "${key}" (type, src, dst, options)`)
    fields[name] = part.slice(at + 1)
  }
  const type = fields.type ?? ''
  if (!type) throw bad('mount', text, 'no type= (bind or tmpfs)')
  const destination = checkDestination('mount', text, fields.destination)
  const options = fields.options ? fields.options.split(':').filter(Boolean) : []
  if (type === 'tmpfs') return {destination, type, source: fields.source || 'tmpfs', options}
  if (!fields.source) throw bad('mount', text, 'no src=')
  if (type !== 'bind' && !options.includes('bind') && !options.includes('rbind')) return {destination, type, source: fields.source, options}
  const source = await existingSource('mount', text, fields.source)
  if (!options.includes('bind') && !options.includes('rbind')) options.unshift('rbind')
  return {destination, type: 'bind', source, options}
}

/**
 * docker's `-v HOST:PATH[:ro|:rw]`: a bind mount of an existing host directory or file (docker creates a
 * missing one as a directory; ctr refuses it, as Go ctr's --mount does, so a typo never makes a directory).
 * A HOST that is a name (docker's rule: a letter or digit, then letters, digits, _ . -) is a named volume,
 * made on first use; `nocopy` among its modes keeps a new one from being filled from the image.
 */
export async function parseVolume(text: string): Promise<OciMount | VolumeMount> {
  const parts = text.split(':')
  if (parts.length < 2 || parts.length > 3) throw bad('volume', text, 'use HOST:PATH, NAME:PATH or either with :ro')
  const [host, path, mode = 'rw'] = parts
  const named = !host.startsWith('/') && !host.startsWith('.')
  if (named && !isVolumeName(host)) {
    throw bad('volume', text, `"${host}" is neither a host path (/x, ./x) nor a volume name (a letter or digit, then letters, digits, _ . -)`)
  }
  const destination = checkDestination('volume', text, path)
  const modes = mode.split(',')
  const known = named ? ['ro', 'rw', 'z', 'Z', 'nocopy'] : ['ro', 'rw', 'z', 'Z']
  if (modes.some((m) => !known.includes(m))) throw bad('volume', text, `unknown mode "${mode}" (ro or rw)`)
  if (named) return {volume: host, destination, readOnly: modes.includes('ro'), copy: !modes.includes('nocopy')}
  const source = await existingSource('volume', text, host)
  return {destination, type: 'bind', source, options: ['rbind', modes.includes('ro') ? 'ro' : 'rw']}
}

/** docker's `--tmpfs PATH[:OPTIONS]` (OPTIONS comma-separated, e.g. size=64m,mode=1777); noexec,nosuid,nodev by default. */
export function parseTmpfs(text: string): OciMount {
  const at = text.indexOf(':')
  const path = at < 0 ? text : text.slice(0, at)
  const extra =
    at < 0
      ? []
      : text
          .slice(at + 1)
          .split(',')
          .filter(Boolean)
  return {destination: checkDestination('tmpfs', text, path), type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...extra]}
}

function checkDestination(option: string, text: string, path: string | undefined): string {
  if (!path) throw bad(option, text, 'no destination path in the container')
  if (!path.startsWith('/')) throw bad(option, text, `the path in the container must be absolute ("${path}")`)
  return cleanPath(path)
}

/** `/a//b/` → `/a/b`: one spelling per path, so a mount at a destination the spec has replaces it. */
function cleanPath(path: string): string {
  const normal = posix.normalize(path)
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal
}

async function existingSource(option: string, text: string, path: string): Promise<string> {
  const source = resolve(path)
  await stat(source).catch((error: NodeJS.ErrnoException) => {
    throw bad(option, text, error.code === 'ENOENT' ? `host path ${source} does not exist` : `host path ${source}: ${error.code ?? error.message}`)
  })
  return source
}

/** `64m`, `1g`, `1048576` (bytes; k, m, g, t are powers of 1024, as docker). At least 6 MiB, as runc and docker need. */
export function parseMemory(text: string, option = 'memory'): number {
  const bytes = parseByteSize(text)
  if (bytes === undefined) throw bad(option, text, 'use a size such as 64m or 1g')
  if (bytes < 6 * 1024 * 1024) throw bad(option, text, 'the minimum is 6m')
  return bytes
}

/** `--memory-limit`: bytes, as Go ctr takes it. */
export function parseMemoryBytes(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw bad('memoryLimit', text, 'a number of bytes')
  return parseMemory(text.trim(), 'memoryLimit')
}

export function parseCpus(text: string): number {
  const cpus = Number(text)
  if (!/^\d*\.?\d+$/.test(text.trim()) || !Number.isFinite(cpus) || cpus <= 0) throw bad('cpus', text, 'a positive number such as 0.5 or 2')
  if (Math.round(cpus * CFS_PERIOD) < 1000) throw bad('cpus', text, 'the minimum is 0.01')
  return cpus
}

export function parsePositiveInteger(option: string, text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) throw bad(option, text, 'a whole number, 1 or more')
  return Number(text)
}

/** `-u`: a UID or name, with an optional GID or group (names resolved in the root filesystem when applied). */
export const parseUser = parseUserSpec

export function parseCwd(text: string): string {
  if (!text.startsWith('/')) throw bad('cwd', text, 'must be an absolute path')
  return cleanPath(text)
}

/** RFC 1123: labels of letters, digits and hyphens, dot-separated, 63 characters each, 253 in all (the kernel takes 64). */
export function parseHostname(text: string): string {
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
  if (text.length > 64 || !text.split('.').every((part) => label.test(part))) throw bad('hostname', text, 'letters, digits, hyphens and dots, 64 at most')
  return text
}

/** `KEY=VALUE` container labels; the key is not empty. */
export function parseLabels(texts: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const text of texts) {
    const at = text.indexOf('=')
    if (at <= 0) throw bad('label', text, 'use KEY=VALUE')
    labels[text.slice(0, at)] = text.slice(at + 1)
  }
  return labels
}

/** `net_admin`, `CAP_NET_ADMIN`, `ALL` → the CAP_ name (or ALL); unknown names are an error. */
export function parseCapability(option: 'capAdd' | 'capDrop', text: string): string {
  const upper = text.trim().toUpperCase()
  if (upper === 'ALL') return 'ALL'
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`
  if (!(CAPABILITIES as readonly string[]).includes(name)) throw bad(option, text, 'not a Linux capability (e.g. NET_ADMIN, SYS_TIME)')
  return name
}

/**
 * docker's `--env-file`: one KEY=VALUE a line, as written (no quotes removed); blank lines and lines
 * starting with # skipped; a KEY alone takes ctr's own value of it, if set (docker does so).
 */
export async function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw optionError('usage', (o) => `cannot read ${o('envFile')} ${path}: ${error.code === 'ENOENT' ? 'no such file' : (error.code ?? error.message)}`)
  })
  const out: string[] = []
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '')
    if (!line || line.startsWith('#')) continue
    const at = line.indexOf('=')
    const key = at < 0 ? line : line.slice(0, at)
    if (!key || /\s/.test(key))
      throw optionError('usage', (o) => `invalid ${o('envFile')} ${path} line ${n + 1}: variable "${key}" has white space or is empty`)
    if (at >= 0) out.push(line)
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`)
  }
  return out
}

/**
 * Applies the settings to the spec that is sent. `userRoot` is where names of `user` are looked up (the
 * bundle's rootfs, or the image's read-only root), opened when a name needs it; `what` names the source in errors.
 */
export async function applyRunSettings(spec: OciSpec, settings: RunSettings, userRoot: () => Promise<RootDir>, what: string): Promise<void> {
  if (settings.mounts?.length) {
    const given = new Set(settings.mounts.map((m) => m.destination))
    const existing = Array.isArray(spec.mounts) ? (spec.mounts as OciMount[]) : []
    const added = settings.mounts.map((m) => {
      if (isVolumeMount(m)) throw new CtrError('internal', `volume "${m.volume}" was not prepared`)
      return m
    })
    spec.mounts = [...existing.filter((m) => !given.has(cleanPath(m.destination))), ...added]
  }
  const linux = (spec.linux ??= {}) as Record<string, unknown> & {resources?: Record<string, Record<string, unknown> | unknown>}
  const resources = (linux.resources ??= {}) as Record<string, Record<string, unknown>>
  if (settings.memory !== undefined) resources.memory = {...resources.memory, limit: settings.memory}
  if (settings.cpus !== undefined) resources.cpu = {...resources.cpu, quota: Math.round(settings.cpus * CFS_PERIOD), period: CFS_PERIOD}
  if (settings.cpuShares !== undefined) resources.cpu = {...resources.cpu, shares: settings.cpuShares}
  if (settings.pidsLimit !== undefined) resources.pids = {limit: settings.pidsLimit}
  if (settings.user) {
    const ids = await lookupIds(settings.user, {root: userRoot, missing: (kind, name, file) => `no ${kind} "${name}" in ${what} (its /etc/${file})`})
    const user = (spec.process.user ?? {}) as {uid?: number; gid?: number; additionalGids?: number[]}
    // A user alone: its own group when named; a number alone: group 0 unless passwd says (as WithUserID).
    spec.process.user = {
      ...user,
      uid: ids.uid ?? user.uid ?? 0,
      gid: ids.gid ?? (settings.user.group === undefined ? 0 : (user.gid ?? 0)),
      additionalGids: undefined,
    }
  }
  if (settings.cwd !== undefined) spec.process.cwd = settings.cwd
  if (settings.hostname !== undefined) spec.hostname = settings.hostname
  if (settings.readOnly) spec.root = {...spec.root, readonly: true}
  const current = settings.privileged || settings.capAdd?.includes('ALL') ? await currentCapabilities() : []
  if (settings.privileged) makePrivileged(spec, linux, resources, current)
  if (settings.capAdd?.length || settings.capDrop?.length) changeCapabilities(spec, settings.capAdd ?? [], settings.capDrop ?? [], current)
}

/**
 * "All" capabilities are those ctr's own bounding set holds (as Go's WithAllCurrentCapabilities): runc
 * cannot give more ("unable to apply caps: operation not permitted" when ctr itself runs in a container).
 */
async function currentCapabilities(): Promise<string[]> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '')
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1]
  if (!hex) return [...CAPABILITIES]
  const mask = BigInt(`0x${hex}`)
  return CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n)
}

function makePrivileged(spec: OciSpec, linux: Record<string, unknown>, resources: Record<string, unknown>, all: string[]): void {
  const caps = (spec.process.capabilities ?? {}) as Record<string, string[]>
  spec.process.capabilities = {...caps, bounding: all, effective: all, permitted: all}
  delete linux.maskedPaths
  delete linux.readonlyPaths
  delete linux.seccomp
  resources.devices = [{allow: true, access: 'rwm'}]
  // /sys writable, as Go's WithPrivileged (its sysfs mount loses "ro").
  if (Array.isArray(spec.mounts)) {
    for (const m of spec.mounts as OciMount[]) if (m.type === 'sysfs') m.options = (m.options ?? []).filter((o) => o !== 'ro')
  }
}

function changeCapabilities(spec: OciSpec, add: readonly string[], drop: readonly string[], all: readonly string[]): void {
  const caps = (spec.process.capabilities ?? {}) as Record<string, string[] | undefined>
  for (const set of ['bounding', 'effective', 'permitted'] as const) {
    let list = drop.includes('ALL') ? [] : (caps[set] ?? []).filter((c) => !drop.includes(c))
    list = add.includes('ALL') ? [...all] : [...new Set([...list, ...add])]
    caps[set] = list
  }
  spec.process.capabilities = caps
}

/** The settings as typed (each named as its option), before parsing. */
export interface RunSettingsText {
  mount?: readonly string[]
  volume?: readonly string[]
  tmpfs?: readonly string[]
  memory?: string
  memoryLimit?: string
  cpus?: string
  cpuShares?: string
  pidsLimit?: string
  user?: string
  cwd?: string
  hostname?: string
  readOnly?: boolean
  privileged?: boolean
  capAdd?: readonly string[]
  capDrop?: readonly string[]
}

/** Parses every setting given; the first bad one is an error naming it (nothing is created before this). */
export async function parseRunSettings(text: RunSettingsText): Promise<RunSettings> {
  const settings: RunSettings = {}
  const mounts = [
    ...(await Promise.all((text.mount ?? []).map((m) => parseMount(m)))),
    ...(await Promise.all((text.volume ?? []).map((v) => parseVolume(v)))),
    ...(text.tmpfs ?? []).map((t) => parseTmpfs(t)),
  ]
  const seen = new Set<string>()
  for (const m of mounts) {
    if (seen.has(m.destination)) throw optionError('usage', (o) => `two mounts at ${m.destination} (${o('mount')}, ${o('volume')}, ${o('tmpfs')})`)
    seen.add(m.destination)
  }
  if (mounts.length > 0) settings.mounts = mounts
  if (text.memory !== undefined && text.memoryLimit !== undefined) throw optionError('usage', (o) => `give ${o('memory')} or ${o('memoryLimit')}, not both`)
  if (text.memory !== undefined) settings.memory = parseMemory(text.memory)
  if (text.memoryLimit !== undefined) settings.memory = parseMemoryBytes(text.memoryLimit)
  if (text.cpus !== undefined) settings.cpus = parseCpus(text.cpus)
  if (text.cpuShares !== undefined) settings.cpuShares = parsePositiveInteger('cpuShares', text.cpuShares)
  if (text.pidsLimit !== undefined) settings.pidsLimit = parsePositiveInteger('pidsLimit', text.pidsLimit)
  if (text.user !== undefined) settings.user = parseUser(text.user)
  if (text.cwd !== undefined) settings.cwd = parseCwd(text.cwd)
  if (text.hostname !== undefined) settings.hostname = parseHostname(text.hostname)
  if (text.readOnly) settings.readOnly = true
  if (text.privileged) settings.privileged = true
  if (text.capAdd?.length) settings.capAdd = text.capAdd.map((c) => parseCapability('capAdd', c))
  if (text.capDrop?.length) settings.capDrop = text.capDrop.map((c) => parseCapability('capDrop', c))
  return settings
}
