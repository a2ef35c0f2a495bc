/**
 * OCI bundles: a directory holding config.json (the runtime spec) and the root filesystem it names. Loaded
 * and checked before anything is created in containerd, so a bad bundle is one line naming the file and
 * leaves nothing behind; then turned into the spec containerd gets (absolute root, cgroups path, PATH).
 */
import {constants as fsConstants} from 'node:fs'
import {open, realpath, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {CtrError} from '../containerd/errors'

/** What `runc spec` and Go ctr put in process.env; without a PATH, `sh` is not found (containerd#4800). */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The parts of an OCI runtime spec ctr reads or changes; everything else is passed through untouched. */
export interface OciSpec {
  ociVersion?: string
  process: {args: string[]; env?: string[]; terminal?: boolean; cwd?: string; [key: string]: unknown}
  root: {path: string; readonly?: boolean}
  linux?: {cgroupsPath?: string; [key: string]: unknown}
  [key: string]: unknown
}

export interface Bundle {
  /** Absolute real path of the bundle directory (relative paths and symlinks resolved). */
  path: string
  /** path/config.json */
  configPath: string
  /** The spec as read (root.path as written, often relative). */
  spec: OciSpec
  /** Absolute path of the root filesystem. */
  rootfs: string
}

const invalid = (message: string) => new CtrError('invalid-argument', message)

/** Reads and checks a bundle: the directory, config.json (readable, JSON, the shapes ctr needs), the rootfs. */
export async function loadBundle(bundlePath: string): Promise<Bundle> {
  if (!bundlePath) throw invalid('bundle path is empty')
  const given = resolve(bundlePath)
  let path: string
  try {
    path = await realpath(given)
  } catch (error) {
    throw fileError(error, `bundle ${given}`)
  }
  if (!(await stat(path)).isDirectory()) throw invalid(`bundle ${given} is not a directory`)

  const configPath = join(path, 'config.json')
  const text = await readConfig(configPath)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw invalid(`${configPath}: invalid JSON: ${(error as Error).message.split('\n')[0]}`)
  }
  const spec = checkSpec(parsed, configPath)

  const rootfs = resolve(path, spec.root.path)
  let rootStat
  try {
    rootStat = await stat(rootfs)
  } catch (error) {
    throw fileError(error, `root filesystem ${rootfs} (root.path in ${configPath})`)
  }
  if (!rootStat.isDirectory()) throw invalid(`root filesystem ${rootfs} (root.path in ${configPath}) is not a directory`)
  return {path, configPath, spec, rootfs}
}

/** containerd refuses a spec over 16 MiB (its gRPC message limit); a bigger config.json is not read at all. */
export const MAX_CONFIG_BYTES = 16 << 20

/**
 * config.json, only if it is a regular file of at most MAX_CONFIG_BYTES. Opened O_NONBLOCK and checked with
 * fstat before any read: a FIFO would otherwise block open() in a threadpool thread for ever (and with it
 * ctr's exit), and a symlink to /dev/zero would be read until memory runs out.
 */
async function readConfig(configPath: string): Promise<string> {
  let handle
  try {
    handle = await open(configPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY)
  } catch (error) {
    throw fileError(error, configPath)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw invalid(`${configPath} is not a regular file`)
    if (info.size > MAX_CONFIG_BYTES) throw invalid(`${configPath} is ${info.size} bytes; containerd takes specs up to 16 MiB`)
    const buffer = Buffer.alloc(info.size + 1)
    let length = 0
    for (;;) {
      const {bytesRead} = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
      if (length > info.size) throw invalid(`${configPath} grew while being read; containerd takes specs up to 16 MiB`)
    }
    return buffer.subarray(0, length).toString('utf8')
  } catch (error) {
    throw error instanceof CtrError ? error : fileError(error, configPath)
  } finally {
    await handle.close()
  }
}

/** Checks the shapes ctr relies on; returns the spec typed. Pure, for unit tests. */
export function checkSpec(value: unknown, configPath: string): OciSpec {
  const fail = (what: string) => invalid(`${configPath}: ${what}`)
  if (!isObject(value)) throw fail('must hold a JSON object (an OCI runtime spec)')
  const {process, root, linux} = value
  if (!isObject(process)) throw fail('"process" must be an object')
  if (!Array.isArray(process.args) || process.args.length === 0) throw fail('"process.args" must be a non-empty array of strings')
  if (!process.args.every((arg) => typeof arg === 'string')) throw fail('"process.args" must be a non-empty array of strings')
  if (process.args[0] === '') throw fail('"process.args[0]" (the command) is empty')
  if (process.env !== undefined && !(Array.isArray(process.env) && process.env.every((e) => typeof e === 'string'))) {
    throw fail('"process.env" must be an array of "KEY=VALUE" strings')
  }
  if (process.terminal !== undefined && typeof process.terminal !== 'boolean') throw fail('"process.terminal" must be true or false')
  if (process.cwd !== undefined && typeof process.cwd !== 'string') throw fail('"process.cwd" must be a string')
  if (!isObject(root)) throw fail('"root" must be an object with a "path"')
  if (typeof root.path !== 'string' || root.path === '') throw fail('"root.path" must be a non-empty string')
  if (linux !== undefined && !isObject(linux)) throw fail('"linux" must be an object')
  if (isObject(linux) && linux.cgroupsPath !== undefined && typeof linux.cgroupsPath !== 'string') throw fail('"linux.cgroupsPath" must be a string')
  return value as OciSpec
}

export interface SpecOptions {
  namespace: string
  id: string
  /** process.terminal as it will run (the command decides: --tty, the spec's own, attached or not). */
  terminal: boolean
}

/**
 * The spec containerd gets: a copy with root.path absolute (the shim does not know the bundle directory),
 * linux.cgroupsPath `/<namespace>/<id>` unless set (as Go ctr does), a default PATH when process.env has
 * none, and process.terminal as decided.
 */
export function containerSpec(bundle: Pick<Bundle, 'spec' | 'rootfs'>, options: SpecOptions): OciSpec {
  const spec = structuredClone(bundle.spec)
  spec.root = {...spec.root, path: bundle.rootfs}
  spec.linux = {...spec.linux, cgroupsPath: spec.linux?.cgroupsPath || `/${options.namespace}/${options.id}`}
  const env = spec.process.env ?? []
  spec.process = {...spec.process, terminal: options.terminal, env: env.some((e) => e.startsWith('PATH=')) ? env : [...env, DEFAULT_PATH]}
  return spec
}

function fileError(error: unknown, what: string): CtrError {
  const code = (error as NodeJS.ErrnoException).code
  const reason =
    code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'is not in a directory' : code === 'EISDIR' ? 'is a directory' : code === 'ELOOP' ? 'has a symlink loop' : (error as Error).message
  return new CtrError(code === 'ENOENT' ? 'not-found' : 'invalid-argument', `${what} ${reason}`, {cause: error})
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
