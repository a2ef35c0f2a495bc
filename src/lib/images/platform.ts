/**
 * Platforms (os/architecture/variant) as containerd's platforms package reads and compares them: parsing
 * `--platform` (platforms.Parse), normalizing (x86_64 → amd64, aarch64 → arm64, armhf → arm/v7), this
 * machine's default and what it can run (platforms.Only: amd64 also runs 386, arm64 runs arm/v8..v5), and an
 * exact matcher for `--platform` (OnlyStrict).
 */
import {usageError} from '../containerd/errors'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

/** Picks manifests by platform; `rank` orders the matches, best first (lower is better). */
export interface PlatformMatcher {
  /** What it matches, for messages: `linux/amd64`, or `all platforms`. */
  readonly description: string
  match(platform: Platform): boolean
  rank(platform: Platform): number
}

const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd',
  'plan9', 'solaris', 'windows', 'zos',
])
const KNOWN_ARCH = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64',
  'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm',
])
const COMPONENT = /^[A-Za-z0-9_-]+$/

function normalizeOs(os: string): string {
  const lower = os.toLowerCase()
  return lower === 'macos' ? 'darwin' : lower || 'linux'
}

function normalizeArch(arch: string, variant = ''): {architecture: string; variant: string} {
  const a = arch.toLowerCase()
  let v = variant.toLowerCase()
  switch (a) {
    case 'i386':
      return {architecture: '386', variant: ''}
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return {architecture: 'amd64', variant: v === 'v1' ? '' : v}
    case 'aarch64':
    case 'arm64':
      return {architecture: 'arm64', variant: v === '8' || v === 'v8' ? '' : v}
    case 'armhf':
      return {architecture: 'arm', variant: 'v7'}
    case 'armel':
      return {architecture: 'arm', variant: 'v6'}
    case 'arm':
      if (v === '' || v === '7') v = 'v7'
      else if (['5', '6', '8'].includes(v)) v = `v${v}`
      return {architecture: 'arm', variant: v}
    default:
      return {architecture: a, variant: v}
  }
}

/** Normalized copy (variant '' dropped). */
export function normalizePlatform(platform: Platform): Platform {
  const {architecture, variant} = normalizeArch(platform.architecture, platform.variant)
  return variant ? {os: normalizeOs(platform.os), architecture, variant} : {os: normalizeOs(platform.os), architecture}
}

export function formatPlatform(platform: Platform): string {
  return [platform.os || 'unknown', platform.architecture || 'unknown', platform.variant].filter(Boolean).join('/')
}

/** The platform this process runs on, in containerd's terms (Node's process.arch names differ). */
export function hostPlatform(arch: string = process.arch): Platform {
  const map: Record<string, string> = {x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle'}
  const architecture = map[arch] ?? arch
  if (architecture === 'arm') {
    const version = Number((process.config.variables as Record<string, unknown>).arm_version ?? 7)
    return {os: 'linux', architecture, variant: version === 7 ? 'v7' : `v${version}`}
  }
  return {os: 'linux', architecture}
}

/**
 * `--platform` text → platform, as platforms.Parse: `os`, `arch` (either alone, the other from this
 * machine), `os/arch`, `os/arch/variant`. A lone word that is neither a known OS nor a known architecture,
 * or a bad component, is a usage error.
 */
export function parsePlatform(text: string, host: Platform = hostPlatform()): Platform {
  const bad = (why: string) => usageError(`invalid platform "${text}": ${why}`)
  if (text.includes('*')) throw bad('wildcards are not supported')
  const parts = text.split('/')
  for (const part of parts) if (!COMPONENT.test(part)) throw bad(`"${part}" is not a valid component (letters, digits, _ and -)`)
  if (parts.length === 1) {
    const os = normalizeOs(parts[0])
    if (KNOWN_OS.has(os)) return normalizePlatform({os, architecture: host.architecture, variant: host.variant})
    const {architecture, variant} = normalizeArch(parts[0])
    if (KNOWN_ARCH.has(architecture)) return normalizePlatform({os: host.os, architecture, variant: architecture === 'arm' && variant === 'v7' ? '' : variant})
    throw bad('unknown operating system or architecture')
  }
  if (parts.length === 2) return normalizePlatform({os: parts[0], architecture: parts[1]})
  if (parts.length === 3) {
    const p = normalizePlatform({os: parts[0], architecture: parts[1], variant: parts[2]})
    return p
  }
  throw bad('use os, arch, os/arch or os/arch/variant')
}

const same = (a: Platform, b: Platform) => a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '')

/** What a machine of this platform runs, best first (platforms.platformVector). */
export function compatiblePlatforms(platform: Platform): Platform[] {
  const p = normalizePlatform(platform)
  const vector: Platform[] = [p]
  const withVariant = (architecture: string, variant?: string): Platform => (variant ? {os: p.os, architecture, variant} : {os: p.os, architecture})
  if (p.architecture === 'amd64') {
    const level = Number((p.variant ?? '').replace(/^v/, ''))
    if (Number.isInteger(level) && level > 1) for (let l = level - 1; l >= 1; l--) vector.push(withVariant('amd64', l === 1 ? undefined : `v${l}`))
    vector.push(withVariant('386'))
  } else if (p.architecture === 'arm') {
    const level = Number((p.variant ?? '').replace(/^v/, ''))
    if (Number.isInteger(level) && level > 5) for (let l = level - 1; l >= 5; l--) vector.push(withVariant('arm', `v${l}`))
  } else if (p.architecture === 'arm64') {
    for (let l = Number((p.variant || 'v8').replace(/^v/, '')); l >= 5; l--) vector.push(withVariant('arm', `v${l}`))
  }
  return vector
}

function ordered(vector: Platform[], description: string): PlatformMatcher {
  return {
    description,
    match: (platform) => vector.some((v) => same(v, normalizePlatform(platform))),
    rank: (platform) => {
      const i = vector.findIndex((v) => same(v, normalizePlatform(platform)))
      return i < 0 ? Number.MAX_SAFE_INTEGER : i
    },
  }
}

/** This machine's platform and what it also runs (the default, as Go ctr's). */
export function defaultMatcher(host: Platform = hostPlatform()): PlatformMatcher {
  return ordered(compatiblePlatforms(host), formatPlatform(normalizePlatform(host)))
}

/** Exactly this platform (`--platform`). */
export function strictMatcher(platform: Platform): PlatformMatcher {
  const p = normalizePlatform(platform)
  return ordered([p], formatPlatform(p))
}

/** Every platform (`--all-platforms`). */
export const ALL_PLATFORMS: PlatformMatcher = {description: 'all platforms', match: () => true, rank: () => 0}
