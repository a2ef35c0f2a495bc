/**
 * Addresses of containerd: a unix socket path (or `unix://` URL), or `ssh://[USER@]HOST[:PORT][/SOCKET]` for a
 * containerd on another host reached through the system's ssh (tunnel.ts). Several, for commands that ask many
 * nodes at once: `-a` repeated or a comma-separated list (docs/remote.md).
 */
import {usageError} from '../containerd/errors'

/** containerd's socket on the remote host when an ssh:// address names none. */
export const DEFAULT_REMOTE_SOCKET = '/run/containerd/containerd.sock'

export interface SshAddress {
  /** As the user wrote it: what error messages and the NODE column name. */
  readonly text: string
  readonly user?: string
  /** For ssh's command line: an IPv6 literal without its brackets. */
  readonly host: string
  readonly port?: number
  /** containerd's socket on the remote host. */
  readonly socket: string
}

export function isSshAddress(address: string): boolean {
  return /^ssh:\/\//i.test(address)
}

/**
 * Parses `ssh://[USER@]HOST[:PORT][/PATH]`. A user or host starting with `-` is refused: ssh would take it
 * for an option (`-oProxyCommand=...`), as git refuses such hosts (CVE-2017-1000117).
 */
export function parseSshAddress(text: string): SshAddress {
  const bad = (why: string) => usageError(`invalid address "${text}": ${why} (expected ssh://[USER@]HOST[:PORT][/PATH/TO/containerd.sock])`)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw bad('not a URL')
  }
  if (url.password) throw bad('a password cannot be given (ctr never prompts; use a key or the agent)')
  if (url.search || url.hash) throw bad('no ? or # part')
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (!host) throw bad('no host')
  const user = url.username ? decodeURIComponent(url.username) : undefined
  if (host.startsWith('-') || user?.startsWith('-')) throw bad('a user or host cannot start with "-"')
  const path = decodeURIComponent(url.pathname)
  const socket = path === '' || path === '/' ? DEFAULT_REMOTE_SOCKET : path
  if (/[\s\0]/.test(socket)) throw bad('the socket path holds white space')
  return {text, user, host, port: url.port ? Number(url.port) : undefined, socket}
}

/**
 * The addresses one --address value (or CONTAINERD_ADDRESS) names: split at commas, each trimmed. A unix socket
 * path with a comma in it cannot be named this way (none of containerd's defaults has one).
 */
export function splitAddresses(value: string): string[] {
  const parts = value.split(',').map((part) => part.trim())
  if (parts.some((part) => part === '')) throw usageError(`invalid address list "${value}": an empty entry`)
  return parts
}

/**
 * What the NODE column shows for an address: an ssh URL without `ssh://` (and without containerd's default
 * socket, so usually `[USER@]HOST`), or the socket path.
 */
export function nodeName(address: string): string {
  if (!isSshAddress(address)) return address.replace(/^unix:(\/\/)?/, '')
  const rest = address.replace(/^ssh:\/\//i, '')
  return rest.endsWith(DEFAULT_REMOTE_SOCKET) ? rest.slice(0, -DEFAULT_REMOTE_SOCKET.length) : rest.replace(/\/$/, '')
}
