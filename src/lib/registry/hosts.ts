/**
 * Which hosts serve a registry, and how to talk to each: containerd's hosts directory
 * (remotes/docker/config, docs/hosts.md) and Go ctr's TLS flags.
 *
 * For `HOST[:PORT]` the first of `DIR/HOST_PORT_`, `DIR/HOST:PORT`, `DIR/_default` that exists is read:
 * its `hosts.toml` (`[host."URL"]` tables, in file order, each with `capabilities`, `ca`, `client`,
 * `skip_verify`, `header`, `override_path`; then the top level, which is the registry itself, at `server`
 * or else the reference's own host), or, without one, docker's certs.d files (`*.crt` CAs, `*.cert` client
 * certificates with their `*.key`). The registry itself is always the last host.
 *
 * ctr runs as root, and what these files say decides whom it trusts: the directories (hosts dir and host
 * dir) must be private (../private-paths: real directories only root or the user can write), hosts.toml is
 * opened without following a symlink; a CA, certificate or key file (named in hosts.toml, found in the host
 * dir, or given as an option) is read where its path leads, and only when that file and every directory
 * above it can be changed by root (or the user) alone. containerd checks none of this. A hosts.toml that
 * does not parse is an error here (containerd logs it and falls back to the certificate files).
 */
import type {Dirent} from 'node:fs'
import {lstat, readdir, realpath} from 'node:fs/promises'
import {dirname, isAbsolute, join, posix} from 'node:path'

import {parse as parseToml, TomlError} from 'smol-toml'

import {CtrError, optionError} from '../containerd/errors'
import {openForRead, requirePrivateDir} from '../private-paths'
import {apiHost} from './reference'

/** containerd's tools' place for it (Go ctr has no default; nerdctl and the CRI plugin use this one). */
export const DEFAULT_HOSTS_DIR = '/etc/containerd/certs.d'

export type HostCapability = 'pull' | 'resolve' | 'push'
const CAPABILITIES: readonly HostCapability[] = ['pull', 'resolve', 'push']

/** TLS settings of a host, files read: PEM text. */
export interface HostTls {
  /** The CAs to trust: replaces Node's default roots (which `ca` of hosts.toml adds to). */
  ca?: string[]
  certs: Array<{cert: string; key: string}>
  skipVerify?: boolean
}

export interface RegistryHost {
  scheme: 'http' | 'https'
  /** `host[:port]` */
  host: string
  /** The API root, `/v2` unless override_path. */
  path: string
  capabilities: ReadonlySet<HostCapability>
  /** The registry itself (the last host), not a mirror. */
  origin: boolean
  header: Record<string, string[]>
  /** Undefined: Node's defaults. */
  tls?: HostTls
  /** The hosts.toml (or host dir) that configured it, for messages. */
  source?: string
}

export interface HostsOptions {
  /** containerd's hosts directory; undefined: DEFAULT_HOSTS_DIR when it exists; false: none. */
  hostsDir?: string | false
  /** http for the registry itself when no hosts.toml names its URL (as Go ctr's --plain-http). */
  plainHttp?: boolean
  /** A PEM file of the CAs to trust instead of the default ones (every host). */
  tlscacert?: string
  /** A client certificate and its key, PEM (every host). */
  tlscert?: string
  tlskey?: string
  /** Do not verify servers' certificates (every host, unless its hosts.toml says skip_verify = false). */
  skipVerify?: boolean
}

interface HostConfig {
  scheme?: 'http' | 'https'
  host?: string
  path?: string
  capabilities: Set<HostCapability>
  caFiles?: string[]
  clientPairs?: Array<[string, string | undefined]>
  skipVerify?: boolean
  header: Record<string, string[]>
}

/** The hosts for `domain` (a reference's `host[:port]`), in the order to try them; the registry itself last. */
export async function registryHosts(domain: string, options: HostsOptions = {}): Promise<RegistryHost[]> {
  const defaults = await defaultTls(options)
  const found = await hostDir(domain, options.hostsDir)
  const configs = found ? await loadHostDir(found) : [{capabilities: new Set(CAPABILITIES), header: {}} as HostConfig]
  const last = configs[configs.length - 1]
  if (!last.host) {
    // containerd: the registry itself, with every capability whatever the top level says.
    last.scheme = options.plainHttp ? 'http' : 'https'
    last.host = apiHost(domain)
    last.path = '/v2'
    last.capabilities = new Set(CAPABILITIES)
  }
  const hosts: RegistryHost[] = []
  for (const [index, config] of configs.entries()) {
    hosts.push({
      scheme: config.scheme!,
      host: config.host!,
      path: config.path!,
      capabilities: config.capabilities,
      origin: index === configs.length - 1,
      header: config.header,
      tls: await hostTls(config, defaults),
      ...(found ? {source: found} : {}),
    })
  }
  return hosts
}

/** Go ctr's flags: one TLS setting for every host. */
async function defaultTls(options: HostsOptions): Promise<HostTls | undefined> {
  const {tlscacert, tlscert, tlskey, skipVerify} = options
  if (Boolean(tlscert) !== Boolean(tlskey)) throw optionError('usage', (o) => `${o('tlscert')} and ${o('tlskey')} go together`)
  if (!tlscacert && !tlscert && !skipVerify) return undefined
  return {
    ...(tlscacert ? {ca: [await readPem(tlscacert, 'CA file', 'CERTIFICATE')]} : {}),
    certs: tlscert && tlskey ? [await readPair(tlscert, tlskey)] : [],
    ...(skipVerify ? {skipVerify: true} : {}),
  }
}

/** A host's TLS: its own settings over the defaults (its CAs are added to the trusted ones). */
async function hostTls(config: HostConfig, defaults: HostTls | undefined): Promise<HostTls | undefined> {
  if (!config.caFiles && !config.clientPairs && config.skipVerify === undefined) return defaults
  const tls: HostTls = {certs: [...(defaults?.certs ?? [])]}
  if (config.caFiles) {
    // node:tls on first use only: this module is part of every start-up (the pull and push flags).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tls.ca = [...(defaults?.ca ?? (require('node:tls') as typeof import('node:tls')).rootCertificates)]
    for (const file of config.caFiles) tls.ca.push(await readPem(file, 'CA file', 'CERTIFICATE'))
  } else if (defaults?.ca) tls.ca = defaults.ca
  for (const [cert, key] of config.clientPairs ?? []) tls.certs.push(await readPair(cert, key))
  const skip = config.skipVerify ?? defaults?.skipVerify
  if (skip !== undefined) tls.skipVerify = skip
  return tls
}

async function readPair(certFile: string, keyFile: string | undefined): Promise<{cert: string; key: string}> {
  const cert = await readPem(certFile, 'client certificate', 'CERTIFICATE')
  // containerd: without a key file, the certificate's file holds the key too.
  const key = keyFile ? await readPem(keyFile, 'client key', 'PRIVATE KEY') : cert
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) throw new CtrError('usage', `client key ${keyFile ?? certFile} has no PEM private key`)
  return {cert, key}
}

/**
 * A PEM file ctr trusts: read where the path leads, when that file (a regular file of root's or ours, not
 * writable by group or others) and every directory above it are changed by root or us alone.
 */
export async function readTrustedFile(path: string, what: string): Promise<string> {
  const real = await realpath(path).catch((error: NodeJS.ErrnoException) => {
    throw new CtrError(error.code === 'ENOENT' ? 'usage' : 'permission-denied', `${what} ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
  })
  await requirePrivateDir(dirname(real), `${what} ${path}: its directory`)
  const handle = await openForRead(real).catch((error: unknown) => {
    if (error instanceof CtrError) throw new CtrError(error.kind, `${what} ${path}: ${error.message}`)
    throw new CtrError('permission-denied', `${what} ${path}: ${(error as Error).message}`)
  })
  try {
    const info = await handle.stat()
    if (info.mode & 0o022) throw new CtrError('permission-denied', `${what} ${path} is writable by other users: not used`)
    if (info.size > 1024 * 1024) throw new CtrError('usage', `${what} ${path} is larger than 1 MiB`)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

async function readPem(path: string, what: string, block: 'CERTIFICATE' | 'PRIVATE KEY'): Promise<string> {
  const text = await readTrustedFile(path, what)
  const re = block === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/
  if (!re.test(text)) throw new CtrError('usage', `${what} ${path} has no PEM ${block === 'CERTIFICATE' ? 'certificate' : 'private key'}`)
  return text
}

/** containerd's `host:port` → `host_port_` directory name (HOST_PORT_ is looked for before HOST:PORT). */
function hostDirNames(domain: string): string[] {
  const colon = domain.lastIndexOf(':')
  const names = colon > 0 ? [`${domain.slice(0, colon)}_${domain.slice(colon + 1)}_`] : []
  return [...names, domain, '_default']
}

/** The host directory that applies to `domain`, or undefined; the hosts dir and it checked private. */
async function hostDir(domain: string, option: HostsOptions['hostsDir']): Promise<string | undefined> {
  if (option === false) return undefined
  const root = option ?? DEFAULT_HOSTS_DIR
  const exists = await lstat(root).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false
      throw new CtrError('permission-denied', `hosts directory ${root}: ${error.message}`)
    },
  )
  if (!exists) {
    if (option === undefined) return undefined
    throw optionError('usage', (o) => `${o('hostsDir')} ${root} does not exist`)
  }
  await requirePrivateDir(root, 'hosts directory')
  for (const name of hostDirNames(domain)) {
    const dir = join(root, name)
    const there = await lstat(dir).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' || error.code === 'ENOTDIR' ? false : Promise.reject(error)),
    )
    if (!there) continue
    await requirePrivateDir(dir, 'host directory')
    return dir
  }
  return undefined
}

async function loadHostDir(dir: string): Promise<HostConfig[]> {
  const file = join(dir, 'hosts.toml')
  const text = await readHostsToml(file)
  return text === undefined ? [await certFiles(dir)] : parseHostsToml(text, dir, file)
}

/** hosts.toml's text, undefined when there is none; never through a symlink. */
async function readHostsToml(file: string): Promise<string | undefined> {
  let handle
  try {
    handle = await openForRead(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new CtrError('permission-denied', `${file} is a symbolic link: not used`)
    if (error instanceof CtrError) throw error
    throw new CtrError('permission-denied', `${file}: ${(error as Error).message}`)
  }
  try {
    const info = await handle.stat()
    if (info.mode & 0o022) throw new CtrError('permission-denied', `${file} is writable by other users: not used`)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/** docker's certs.d layout: `*.crt` CAs, `*.cert` client certificates with the `*.key` of the same name. */
async function certFiles(dir: string): Promise<HostConfig> {
  const config: HostConfig = {capabilities: new Set(CAPABILITIES), header: {}}
  const entries: Dirent[] = await readdir(dir, {withFileTypes: true})
  const names = new Set(entries.map((e) => e.name))
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isDirectory()) continue
    if (entry.name.endsWith('.crt')) (config.caFiles ??= []).push(join(dir, entry.name))
    if (entry.name.endsWith('.cert')) {
      const key = `${entry.name.slice(0, -'.cert'.length)}.key`
      ;(config.clientPairs ??= []).push([join(dir, entry.name), names.has(key) ? join(dir, key) : undefined])
    }
  }
  return config
}

type Table = Record<string, unknown>

/** hosts.toml → the hosts in order, the top level (the registry itself) last. */
export function parseHostsToml(text: string, dir: string, file = join(dir, 'hosts.toml')): HostConfig[] {
  let doc: Table
  try {
    doc = parseToml(text) as Table
  } catch (error) {
    const detail = error instanceof TomlError ? `${error.message.split('\n')[0]} (line ${error.line}, column ${error.column})` : String(error)
    throw new CtrError('usage', `${file}: ${detail}`)
  }
  const hosts = doc.host === undefined ? {} : doc.host
  if (!isTable(hosts)) throw new CtrError('usage', `${file}: "host" must be a table of [host."URL"] tables`)
  const configs: HostConfig[] = []
  for (const [url, table] of Object.entries(hosts)) {
    if (!isTable(table)) throw new CtrError('usage', `${file}: host "${url}" must be a table`)
    configs.push(hostConfig(url, table, dir, `${file}: host "${url}"`))
  }
  if (doc.server !== undefined && typeof doc.server !== 'string') throw new CtrError('usage', `${file}: "server" must be a string`)
  configs.push(hostConfig((doc.server as string | undefined) ?? '', doc, dir, file))
  return configs
}

function hostConfig(server: string, table: Table, dir: string, where: string): HostConfig {
  const bad = (key: string, expected: string) => new CtrError('usage', `${where}: "${key}" must be ${expected}`)
  const config: HostConfig = {capabilities: new Set(CAPABILITIES), header: {}}
  if (server) {
    const overridePath = table.override_path
    if (overridePath !== undefined && typeof overridePath !== 'boolean') throw bad('override_path', 'true or false')
    let url: URL
    try {
      url = new URL(server.startsWith('http') ? server : `https://${server}`)
    } catch {
      throw new CtrError('usage', `${where}: "${server}" is not a URL`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CtrError('usage', `${where}: "${server}" is not an http or https URL`)
    config.scheme = url.protocol === 'http:' ? 'http' : 'https'
    config.host = url.host
    let path = url.pathname === '/' ? '' : posix.normalize(url.pathname).replace(/\/+$/, '')
    if (!overridePath && !path.endsWith('/v2')) path += '/v2'
    config.path = path
  }
  if (table.capabilities !== undefined) {
    const list = table.capabilities
    if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) throw bad('capabilities', 'a list of "pull", "resolve", "push"')
    if (list.length > 0) {
      config.capabilities = new Set()
      for (const c of list) {
        const lower = c.toLowerCase() as HostCapability
        if (!CAPABILITIES.includes(lower)) throw new CtrError('usage', `${where}: unknown capability "${c}" (pull, resolve, push)`)
        config.capabilities.add(lower)
      }
    }
  }
  const abs = (p: string) => (isAbsolute(p) ? p : join(dir, p))
  if (table.ca !== undefined) {
    const ca = table.ca
    if (typeof ca === 'string') config.caFiles = [abs(ca)]
    else if (Array.isArray(ca) && ca.every((c) => typeof c === 'string')) config.caFiles = ca.map(abs)
    else throw bad('ca', 'a file or a list of files')
  }
  if (table.client !== undefined) {
    const client = table.client
    const pairs: Array<[string, string | undefined]> = []
    const one = (item: unknown) => {
      if (typeof item === 'string') pairs.push([abs(item), undefined])
      else if (Array.isArray(item) && item.length === 2 && item.every((c) => typeof c === 'string')) pairs.push([abs(item[0]), abs(item[1])])
      else throw bad('client', 'a file, a list of files, or a list of [certificate, key] pairs')
    }
    if (Array.isArray(client)) client.forEach(one)
    else one(client)
    config.clientPairs = pairs
  }
  if (table.skip_verify !== undefined) {
    if (typeof table.skip_verify !== 'boolean') throw bad('skip_verify', 'true or false')
    config.skipVerify = table.skip_verify
  }
  if (table.header !== undefined) {
    if (!isTable(table.header)) throw bad('header', 'a table of names and values')
    for (const [name, value] of Object.entries(table.header)) {
      if (typeof value === 'string') config.header[name] = [value]
      else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) config.header[name] = value
      else throw bad(`header.${name}`, 'a string or a list of strings')
    }
  }
  return config
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}
