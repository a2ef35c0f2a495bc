/**
 * Registry credentials and challenges, as docker and nerdctl handle them: `--user USER[:PASSWORD]` first,
 * else ~/.docker/config.json ($DOCKER_CONFIG): its credential helpers, then `auths`; a 401's WWW-Authenticate says Basic (send them)
 * or Bearer (fetch a token from its realm for the scope, with them when there are any). Passwords go only
 * into Authorization headers: never into messages, errors or --debug output.
 */
import {execFile} from 'node:child_process'
import {readFile, stat} from 'node:fs/promises'
import {homedir} from 'node:os'
import {isAbsolute, join} from 'node:path'

import {CtrError} from '../containerd/errors'

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

interface DockerConfig {
  auths?: Record<string, {auth?: string; username?: string; password?: string}>
  credsStore?: string
  credHelpers?: Record<string, string>
}

/** How long a credential helper may take to answer before ctr gives up on it. */
export const HELPER_TIMEOUT_MS = 10_000

/**
 * The credentials docker's config.json gives a registry domain, as docker finds them: `credHelpers[host]`,
 * else `credsStore`, runs `docker-credential-NAME get` (found through PATH, the helpers' documented
 * interface); a helper that has none, or no helper, leaves `auths`. No config.json: none. A config.json
 * that cannot be read or parsed, or a helper that fails, is an error naming it.
 */
export async function dockerConfigCredentials(
  domain: string,
  env: NodeJS.ProcessEnv = process.env,
  options: {helperTimeoutMs?: number} = {},
): Promise<Credentials | undefined> {
  const file = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CtrError('usage', `cannot read docker config ${file}: ${(error as Error).message.split('\n')[0]}`)
  }
  let config: DockerConfig
  try {
    config = JSON.parse(text) as DockerConfig
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error('not a JSON object')
  } catch (error) {
    throw new CtrError('usage', `malformed docker config ${file}: ${(error as Error).message.split('\n')[0]}`)
  }
  const keys =
    domain === 'docker.io'
      ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
      : [domain, `https://${domain}`, `http://${domain}`]
  const helper = keys.map((key) => config.credHelpers?.[key]).find(Boolean) ?? config.credsStore
  if (typeof helper === 'string' && helper !== '') {
    const found = await helperCredentials(helper, domain === 'docker.io' ? keys[0] : domain, env, options.helperTimeoutMs ?? HELPER_TIMEOUT_MS)
    if (found) return found
  }
  const auths = config.auths ?? {}
  for (const key of keys) {
    const entry = auths[key] ?? auths[`${key}/`]
    if (!entry) continue
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
      const i = decoded.indexOf(':')
      if (i > 0) return {username: decoded.slice(0, i), password: decoded.slice(i + 1)}
    }
    if (entry.username && entry.password) return {username: entry.username, password: entry.password}
  }
  return undefined
}

/** The helpers' own words for "nothing stored for this server" (docker-credential-helpers' ErrCredentialsNotFound). */
const NOT_FOUND = 'credentials not found in native keychain'

/**
 * `docker-credential-NAME get` with the server on stdin: `{"Username", "Secret"}` on stdout. ctr runs as root,
 * so the program is looked up in PATH's absolute directories only, and neither it nor its directory may be
 * writable by anyone but root or ctr's own user.
 */
async function helperCredentials(name: string, server: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CtrError('usage', `credential helper "${name}": not a valid helper name`)
  const path = await findProgram(program, env.PATH ?? '')
  if (!path) throw new CtrError('not-found', `credential helper ${program} not found in PATH (docker config names "${name}")`)
  const answer = await new Promise<{stdout: string; failure?: string}>((resolve) => {
    const child = execFile(path, ['get'], {timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, env}, (error, stdout, stderr) => {
      if (!error) return resolve({stdout})
      const said = (stdout.trim() || stderr.trim()).split('\n')[0]
      const failure = (error as {killed?: boolean}).killed ? `no answer within ${timeoutMs / 1000}s` : said || error.message.split('\n')[0]
      resolve({stdout, failure})
    })
    child.stdin?.on('error', () => undefined)
    child.stdin?.end(server)
  })
  if (answer.failure !== undefined) {
    if (answer.failure.includes(NOT_FOUND)) return undefined
    throw new CtrError('permission-denied', `credential helper ${program} failed for ${server}: ${answer.failure}`)
  }
  let parsed: {Username?: unknown; Secret?: unknown}
  try {
    parsed = JSON.parse(answer.stdout) as typeof parsed
  } catch {
    throw new CtrError('permission-denied', `credential helper ${program} answered something that is not JSON for ${server}`)
  }
  if (typeof parsed?.Username !== 'string' || typeof parsed.Secret !== 'string') {
    throw new CtrError('permission-denied', `credential helper ${program} answered without Username and Secret for ${server}`)
  }
  return {username: parsed.Username, password: parsed.Secret}
}

/** The first PATH entry holding an executable `program` that only root or this user can change. */
async function findProgram(program: string, searchPath: string): Promise<string | undefined> {
  const uid = process.getuid?.() ?? 0
  const trusted = (s: {uid: number; mode: number}) => (s.uid === 0 || s.uid === uid) && (s.mode & 0o022) === 0
  for (const dir of searchPath.split(':')) {
    if (!isAbsolute(dir)) continue // '', '.', relative entries: the working directory is anyone's
    const candidate = join(dir, program)
    const [dirStat, fileStat] = await Promise.all([stat(dir).catch(() => undefined), stat(candidate).catch(() => undefined)])
    if (!dirStat || !fileStat || !fileStat.isFile() || (fileStat.mode & 0o111) === 0) continue
    if (!trusted(dirStat) || !trusted(fileStat)) {
      throw new CtrError('permission-denied', `credential helper ${candidate}: it or its directory can be changed by other users; not running it`)
    }
    return candidate
  }
  return undefined
}

export function basicHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
}
