/**
 * Registry credentials and challenges, as docker and nerdctl handle them: `--user USER[:PASSWORD]` first,
 * else `auths` in ~/.docker/config.json ($DOCKER_CONFIG); a 401's WWW-Authenticate says Basic (send them)
 * or Bearer (fetch a token from its realm for the scope, with them when there are any). Passwords go only
 * into Authorization headers: never into messages, errors or --debug output.
 */
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

export interface Credentials {
  username: string
  password: string
}

export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** `Bearer realm="https://a/token",service="reg",scope="repository:x:pull"` → its scheme and parameters. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  for (const p of m[2].matchAll(re)) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  return {scheme: m[1].toLowerCase(), params}
}

/** `USER[:PASSWORD]`; without a password, `readPassword` is asked (stdin or a prompt). */
export async function parseUser(user: string, readPassword: () => Promise<string>): Promise<Credentials> {
  const i = user.indexOf(':')
  if (i >= 0) return {username: user.slice(0, i), password: user.slice(i + 1)}
  return {username: user, password: await readPassword()}
}

/** The credentials docker's config.json holds for a registry domain, if any. */
export function dockerConfigCredentials(domain: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')
  let auths: Record<string, {auth?: string; username?: string; password?: string}>
  try {
    auths = (JSON.parse(readFileSync(file, 'utf8')) as {auths?: typeof auths}).auths ?? {}
  } catch {
    return undefined
  }
  const keys =
    domain === 'docker.io'
      ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
      : [domain, `https://${domain}`, `http://${domain}`]
  for (const key of keys) {
    const entry = auths[key] ?? auths[`${key}/`]
    if (!entry) continue
    if (entry.auth) {
      const text = Buffer.from(entry.auth, 'base64').toString('utf8')
      const i = text.indexOf(':')
      if (i > 0) return {username: text.slice(0, i), password: text.slice(i + 1)}
    }
    if (entry.username && entry.password) return {username: entry.username, password: entry.password}
  }
  return undefined
}

export function basicHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
}
