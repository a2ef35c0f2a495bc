/**
 * The CNI exec protocol (containernetworking/cni SPEC.md), which ctr speaks to the real plugins: a plugin is
 * a program run with the network's configuration on stdin and CNI_COMMAND (ADD, DEL, CHECK), CNI_CONTAINERID,
 * CNI_NETNS, CNI_IFNAME and CNI_PATH in its environment; it answers a result (or an error object) on stdout.
 * A network configuration list runs as a chain: ADD in order, each plugin given the previous one's result
 * as `prevResult`; DEL in reverse, given the cached result of the ADD; `runtimeConfig.portMappings` goes to
 * the plugins that declare the `portMappings` capability.
 *
 * ctr runs as root: a plugin is run by absolute path only, from a directory root owns that nobody else can
 * write (private-paths.ts), and must itself be root's and not writable by others. Plugins get a fixed PATH
 * of system directories (they run iptables through it) and CNI_PATH of the checked directories only.
 */
import {spawn} from 'node:child_process'
import {realpath, stat} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {CtrError} from '../containerd/errors'
import {privateDirProblem} from '../private-paths'

/** Where the plugins are looked for without $CNI_PATH: Debian's package, then the upstream default. */
export const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin']
const PLUGIN_PATH_ENV = 'CNI_PATH'
/** What plugins find their own helpers (iptables, ip) through. */
const PLUGIN_SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
const PLUGIN_TIMEOUT_MS = 120_000
const PLUGIN_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** One plugin's entry in a configuration list. */
export interface PluginConf {
  type: string
  capabilities?: Record<string, boolean>
  [key: string]: unknown
}

/** A network configuration list (.conflist), as loaded. */
export interface NetworkConfList {
  cniVersion: string
  name: string
  plugins: PluginConf[]
  [key: string]: unknown
}

/** docker's -p, as CNI's portMappings capability takes it. */
export interface PortMapping {
  hostPort: number
  containerPort: number
  protocol: 'tcp' | 'udp'
  /** Absent: every host address. */
  hostIP?: string
}

/** A CNI result (spec 1.0 "Success"): the addresses given to the container's interfaces, among others. */
export interface CniResult {
  cniVersion?: string
  interfaces?: Array<{name: string; mac?: string; sandbox?: string}>
  ips?: Array<{address: string; gateway?: string; interface?: number}>
  routes?: unknown[]
  dns?: unknown
  [key: string]: unknown
}

/** What the runtime (ctr) tells every plugin of one attachment. */
export interface Attachment {
  containerId: string
  /** The network namespace's path (may be '' on DEL when it is gone: the spec lets plugins cope). */
  netns: string
  ifName: string
  portMappings?: PortMapping[]
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK'

/** The plugin directories: $CNI_PATH's (colon-separated) if set, else DEFAULT_PLUGIN_DIRS. */
export function pluginDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env[PLUGIN_PATH_ENV]?.split(':')
    .filter(Boolean)
    .map((dir) => resolve(dir))
  return fromEnv?.length ? fromEnv : DEFAULT_PLUGIN_DIRS
}

/** The trusted directories among `dirs` (others are skipped silently, as missing ones are). */
export async function trustedPluginDirs(dirs: readonly string[]): Promise<string[]> {
  const trusted: string[] = []
  for (const dir of dirs) if (!(await privateDirProblem(dir))) trusted.push(dir)
  return trusted
}

/** Why `file` may not be run as root, or undefined: root's, a regular file, not writable by group or others. */
async function binaryProblem(file: string): Promise<string | undefined> {
  const real = await realpath(file)
  const dirProblem = await privateDirProblem(dirname(real))
  if (dirProblem) return dirProblem
  const info = await stat(real)
  if (!info.isFile()) return `${real} is not a regular file`
  if (info.uid !== 0) return `${real} does not belong to root`
  if (info.mode & 0o022) return `${real} is writable by other users`
  return undefined
}

/** The absolute path of plugin `type`: the first of `dirs` that has it; refused if it is not safe to run. */
export async function findPlugin(type: string, dirs: readonly string[]): Promise<string> {
  if (!PLUGIN_TYPE.test(type)) throw new CtrError('usage', `invalid CNI plugin type "${type}"`)
  const unsafe: string[] = []
  for (const dir of dirs) {
    const dirProblem = await privateDirProblem(dir)
    if (dirProblem) {
      if (!dirProblem.endsWith('does not exist')) unsafe.push(dirProblem)
      continue
    }
    const file = join(dir, type)
    const exists = await stat(file).then(
      () => true,
      () => false,
    )
    if (!exists) continue
    const problem = await binaryProblem(file)
    if (!problem) return file
    unsafe.push(problem)
  }
  const why = unsafe.length ? `; not used: ${unsafe.join('; ')}` : ''
  throw new CtrError('not-found', `CNI plugin "${type}" not found in ${dirs.join(':')}${why}`)
}

/** The spec's version order (x.y.z), enough to tell which versions take prevResult on DEL (0.4.0+). */
function versionAtLeast(version: string, wanted: [number, number, number]): boolean {
  const parts = version.split('.').map((part) => Number.parseInt(part, 10) || 0)
  for (let index = 0; index < 3; index++) {
    const have = parts[index] ?? 0
    if (have !== wanted[index]) return have > wanted[index]
  }
  return true
}

/** The configuration one plugin of the list gets on stdin (libcni's buildOneConfig + injectRuntimeConfig). */
export function pluginConfig(list: NetworkConfList, plugin: PluginConf, attachment: Attachment, prevResult?: CniResult): Record<string, unknown> {
  const config: Record<string, unknown> = {...plugin, cniVersion: list.cniVersion, name: list.name}
  if (prevResult) config.prevResult = prevResult
  if (plugin.capabilities?.portMappings && attachment.portMappings?.length) {
    const runtimeConfig = (typeof plugin.runtimeConfig === 'object' && plugin.runtimeConfig) || {}
    config.runtimeConfig = {...runtimeConfig, portMappings: attachment.portMappings}
  }
  return config
}

interface PluginRun {
  path: string
  command: CniCommand
  config: Record<string, unknown>
  attachment: Attachment
  cniPath: readonly string[]
  signal?: AbortSignal
}

/** The error object a plugin prints (spec "Error"), as one line. */
function pluginErrorText(stdout: string, stderr: string, code: number | null): string {
  try {
    const error = JSON.parse(stdout) as {code?: number; msg?: string; details?: string}
    if (error.msg) return [error.msg, error.details].filter(Boolean).join(': ')
  } catch {
    // not JSON: fall back to stderr
  }
  return stderr.trim() || `exit status ${code}`
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, '; ').trim()

/** Runs one plugin; resolves its parsed stdout (undefined when empty, as DEL and CHECK answer). */
export function runPlugin(run: PluginRun): Promise<CniResult | undefined> {
  const env: NodeJS.ProcessEnv = {
    CNI_COMMAND: run.command,
    CNI_CONTAINERID: run.attachment.containerId,
    CNI_NETNS: run.attachment.netns,
    CNI_IFNAME: run.attachment.ifName,
    CNI_PATH: run.cniPath.join(':'),
    PATH: PLUGIN_SYSTEM_PATH,
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(run.path, [], {env, stdio: ['pipe', 'pipe', 'pipe'], timeout: PLUGIN_TIMEOUT_MS, signal: run.signal})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.stdin.on('error', () => undefined) // a plugin that exits without reading: its exit status says why
    child.stdin.end(JSON.stringify(run.config))
    const name = basename(run.path)
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') reject(new CtrError('cancelled', 'interrupted', {cause: error}))
      else reject(new CtrError('internal', `cannot run CNI plugin ${run.path}: ${error.message}`, {cause: error}))
    })
    child.on('close', (code, signal) => {
      if (code === 0) {
        if (!stdout.trim()) return resolvePromise(undefined)
        try {
          return resolvePromise(JSON.parse(stdout) as CniResult)
        } catch {
          return reject(new CtrError('internal', `CNI plugin ${name} (${run.command}) printed a result that is not JSON`))
        }
      }
      if (signal && run.signal?.aborted) return // the 'error' event reported the abort
      const why = signal ? `killed by ${signal}${signal === 'SIGTERM' ? ' (timed out)' : ''}` : pluginErrorText(stdout, stderr, code)
      reject(new CtrError('internal', `CNI plugin ${name} (${run.command}) failed: ${oneLine(why)}`))
    })
  })
}

export interface ChainOptions {
  /** Plugin directories (default pluginDirs()). */
  dirs?: readonly string[]
  signal?: AbortSignal
  /** Told each plugin's result as the ADD goes: a caller's cache then lets a later DEL undo a killed ADD. */
  onResult?: (result: CniResult) => Promise<void>
}

async function resolvePlugins(list: NetworkConfList, dirs: readonly string[]): Promise<{paths: string[]; cniPath: string[]}> {
  const paths: string[] = []
  for (const plugin of list.plugins) paths.push(await findPlugin(plugin.type, dirs))
  return {paths, cniPath: await trustedPluginDirs(dirs)}
}

/** Prefixes a failure with the network's name. */
function inNetwork(list: NetworkConfList, error: unknown): unknown {
  if (!(error instanceof CtrError) || error.kind === 'cancelled') return error
  return new CtrError(error.kind, `network "${list.name}": ${error.message}`, {cause: error.cause ?? error})
}

/**
 * ADD: runs the chain in order and returns the last plugin's result. When a plugin fails, the chain is
 * deleted again (DEL in reverse, with the last result there was) before the error is thrown, so a failed
 * ADD leaves no interface, rule or lease behind.
 */
export async function addNetwork(list: NetworkConfList, attachment: Attachment, options: ChainOptions = {}): Promise<CniResult> {
  const {paths, cniPath} = await resolvePlugins(list, options.dirs ?? pluginDirs()).catch((error: unknown) => {
    throw inNetwork(list, error)
  })
  let result: CniResult | undefined
  for (const [index, plugin] of list.plugins.entries()) {
    try {
      const config = pluginConfig(list, plugin, attachment, result)
      result = (await runPlugin({path: paths[index], command: 'ADD', config, attachment, cniPath, signal: options.signal})) ?? result
      if (result && options.onResult) await options.onResult(result)
    } catch (error) {
      await deleteWith(list, attachment, result, paths, cniPath).catch(() => undefined)
      throw inNetwork(list, error)
    }
  }
  return result ?? {}
}

async function deleteWith(list: NetworkConfList, attachment: Attachment, cached: CniResult | undefined, paths: string[], cniPath: string[]): Promise<void> {
  const prevResult = cached && versionAtLeast(list.cniVersion, [0, 4, 0]) ? cached : undefined
  let first: unknown
  for (let index = list.plugins.length - 1; index >= 0; index--) {
    const config = pluginConfig(list, list.plugins[index], attachment, prevResult)
    // Every plugin's DEL runs even after one fails: each releases what it holds (the spec's DEL is best effort).
    await runPlugin({path: paths[index], command: 'DEL', config, attachment, cniPath}).catch((error: unknown) => (first ??= error))
  }
  if (first) throw first
}

/**
 * DEL: the chain in reverse with the cached ADD result (none when the ADD never finished). Idempotent, as
 * the spec asks of plugins: deleting what is gone succeeds. Not cancellable: half a DEL leaves rules behind.
 */
export async function deleteNetwork(list: NetworkConfList, attachment: Attachment, cached: CniResult | undefined, options: ChainOptions = {}): Promise<void> {
  try {
    const {paths, cniPath} = await resolvePlugins(list, options.dirs ?? pluginDirs())
    await deleteWith(list, attachment, cached, paths, cniPath)
  } catch (error) {
    throw inNetwork(list, error)
  }
}

/** CHECK (spec 0.4.0+): each plugin in order, given the cached ADD result; throws what a plugin finds wrong. */
export async function checkNetwork(list: NetworkConfList, attachment: Attachment, cached: CniResult, options: ChainOptions = {}): Promise<void> {
  try {
    const {paths, cniPath} = await resolvePlugins(list, options.dirs ?? pluginDirs())
    for (const [index, plugin] of list.plugins.entries()) {
      await runPlugin({
        path: paths[index],
        command: 'CHECK',
        config: pluginConfig(list, plugin, attachment, cached),
        attachment,
        cniPath,
        signal: options.signal,
      })
    }
  } catch (error) {
    throw inNetwork(list, error)
  }
}
