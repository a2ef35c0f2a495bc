/**
 * The OCI distribution API over Node's fetch (undici, built in): one repository of one registry, its
 * authorization (./auth: Basic, or a Bearer token per scope, fetched on the first 401 and kept), a
 * deadline for each answer (the body of a blob may take longer: it is bounded by its own idle timer), and
 * every failure as one CtrError (unreachable, refused, unauthorized, not found, the registry's own error).
 * No registry-client package on npm fits: the maintained ones buffer blobs or cannot push.
 */
import {CtrError, formatMs} from '../containerd/errors'
import {basicHeader, type Credentials, parseChallenge} from './auth'
import {apiHost} from './reference'

export interface RegistryOptions {
  domain: string
  repository: string
  /** http instead of https (a local registry). */
  plainHttp?: boolean
  credentials?: Credentials
  /** Deadline for each response's headers, and the longest pause within a body; 0 for none (default 30 s). */
  timeoutMs?: number
  signal?: AbortSignal
  /** `pull` or `pull,push`. */
  actions: string
}

export interface RegistryRequest {
  method?: string
  headers?: Record<string, string>
  body?: Uint8Array | string | AsyncIterable<Uint8Array>
  /** What is asked for, for messages: `manifest 1.0`, `layer sha256:...`. */
  what: string
  /** Statuses that are answers, not errors (default: 2xx). */
  ok?: number[]
}

const DEFAULT_TIMEOUT_MS = 30_000

/** A client for `ref`'s repository with a pull's or push's connection options. */
export function registryFor(
  ref: {domain: string; repository: string},
  options: Pick<RegistryOptions, 'plainHttp' | 'credentials' | 'timeoutMs' | 'signal'>,
  actions: RegistryOptions['actions'],
): RegistryClient {
  const {plainHttp, credentials, timeoutMs, signal} = options
  return new RegistryClient({domain: ref.domain, repository: ref.repository, plainHttp, credentials, timeoutMs, signal, actions})
}

export class RegistryClient {
  readonly base: string
  private authorization?: string
  private readonly timeoutMs: number

  constructor(private readonly options: RegistryOptions) {
    this.base = `${options.plainHttp ? 'http' : 'https'}://${apiHost(options.domain)}/v2/${options.repository}`
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  get domain(): string {
    return this.options.domain
  }

  /** A request to `/v2/<repo><path>` (or an absolute URL, e.g. an upload location), authorized on a 401. */
  async request(path: string, init: RegistryRequest): Promise<Response> {
    const url = /^https?:/.test(path) ? path : path.startsWith('/v2/') ? new URL(path, this.base).toString() : `${this.base}${path}`
    for (let attempt = 0; ; attempt++) {
      const response = await this.send(url, init)
      if (response.status === 401 && attempt === 0 && !isStream(init.body)) {
        await response.body?.cancel().catch(() => undefined)
        await this.authorize(response.headers.get('www-authenticate') ?? '', init.what)
        continue
      }
      if (init.ok?.includes(response.status) || (response.status >= 200 && response.status < 300)) return response
      throw await this.statusError(response, init.what)
    }
  }

  /** The body of a response as chunks, with an idle timeout and transport failures as CtrErrors. */
  async *chunks(response: Response, what: string): AsyncGenerator<Buffer> {
    if (!response.body) return
    const reader = response.body.getReader()
    try {
      for (;;) {
        const {done, value} = await this.withIdle(reader.read(), what)
        if (done) return
        yield Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      }
    } catch (error) {
      throw this.transportError(error, what)
    } finally {
      reader.cancel().catch(() => undefined)
    }
  }

  private async withIdle<T>(promise: Promise<T>, what: string): Promise<T> {
    if (!this.timeoutMs) return promise
    let timer: NodeJS.Timeout | undefined
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CtrError('deadline-exceeded', `registry ${this.domain} sent nothing of ${what} for ${formatMs(this.timeoutMs)}`)),
        this.timeoutMs,
      )
    })
    try {
      return await Promise.race([promise, idle])
    } finally {
      clearTimeout(timer)
    }
  }

  private async send(url: string, init: RegistryRequest): Promise<Response> {
    const headers: Record<string, string> = {...init.headers}
    if (this.authorization) headers.authorization = this.authorization
    const timeout = this.timeoutMs ? AbortSignal.timeout(this.timeoutMs) : undefined
    const signals = [this.options.signal, timeout].filter((s): s is AbortSignal => Boolean(s))
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0]
    try {
      return await fetch(url, {
        method: init.method ?? 'GET',
        headers,
        body: init.body,
        signal,
        redirect: 'follow',
        ...(isStream(init.body) ? {duplex: 'half'} : {}),
      } as unknown as Parameters<typeof fetch>[1])
    } catch (error) {
      if (this.options.signal?.aborted) throw new CtrError('cancelled', `${init.what}: cancelled`, {cause: error})
      if (timeout?.aborted)
        throw new CtrError('deadline-exceeded', `registry ${this.domain} did not answer within ${formatMs(this.timeoutMs)} (${init.what})`, {cause: error})
      throw this.transportError(error, init.what)
    }
  }

  /** A fetch failure (TypeError "fetch failed" with the socket error as its cause) as one line. */
  transportError(error: unknown, what: string): CtrError {
    if (error instanceof CtrError) return error
    if (this.options.signal?.aborted) return new CtrError('cancelled', `${what}: cancelled`, {cause: error})
    const cause = (error as {cause?: {code?: string; message?: string}})?.cause
    const codes = errorCodes(error)
    const has = (...wanted: string[]) => codes.some((code) => wanted.includes(code))
    const reason = has('ECONNREFUSED')
      ? 'connection refused'
      : has('ENOTFOUND', 'EAI_AGAIN')
        ? 'no such host'
        : has('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED')
          ? 'the connection was closed'
          : has('EPROTO') || codes.some((code) => code.startsWith('ERR_SSL_'))
            ? 'it does not speak https (use --plain-http for an http registry)'
            : (cause?.message ?? (error as Error)?.message ?? String(error))
    return new CtrError('unavailable', `registry ${this.domain}: ${reason} (${what})`, {cause: error})
  }

  private async authorize(header: string, what: string): Promise<void> {
    const challenge = parseChallenge(header)
    const credentials = this.options.credentials
    if (challenge?.scheme === 'basic') {
      if (!credentials) throw unauthorized(this.domain, what, 'credentials required (--user, or docker login)')
      this.authorization = basicHeader(credentials)
      return
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw unauthorized(this.domain, what, 'no usable authentication challenge')
    const url = new URL(challenge.params.realm)
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service)
    url.searchParams.set('scope', `repository:${this.options.repository}:${this.options.actions}`)
    const headers: Record<string, string> = {}
    if (credentials) headers.authorization = basicHeader(credentials)
    let response: Response
    try {
      response = await fetch(url, {headers, signal: this.options.signal})
    } catch (error) {
      throw this.transportError(error, `token for ${what}`)
    }
    if (response.status === 401 || response.status === 403) throw unauthorized(this.domain, what, 'the token service refused the credentials')
    if (!response.ok) throw new CtrError('unavailable', `registry ${this.domain}: token service answered ${response.status} (${what})`)
    const body = (await response.json().catch(() => ({}))) as {token?: string; access_token?: string}
    const token = body.token ?? body.access_token
    if (!token) throw new CtrError('unavailable', `registry ${this.domain}: token service sent no token (${what})`)
    this.authorization = `Bearer ${token}`
  }

  private async statusError(response: Response, what: string): Promise<CtrError> {
    const text = await response.text().catch(() => '')
    let detail = ''
    try {
      const first = (JSON.parse(text) as {errors?: Array<{code?: string; message?: string}>}).errors?.[0]
      if (first) detail = [first.code, first.message].filter(Boolean).join(': ')
    } catch {
      detail = text.split('\n')[0].slice(0, 200)
    }
    const suffix = detail ? ` (${detail})` : ''
    if (response.status === 401)
      return unauthorized(this.domain, what, this.options.credentials ? 'wrong user name or password' : 'credentials required (--user, or docker login)')
    if (response.status === 403) return new CtrError('permission-denied', `registry ${this.domain}: ${what}: denied${suffix}`)
    if (response.status === 404) return new CtrError('not-found', `${what} not found in ${this.options.domain}/${this.options.repository}${suffix}`)
    return new CtrError('internal', `registry ${this.domain}: ${what}: HTTP ${response.status}${suffix}`)
  }
}

function unauthorized(domain: string, what: string, why: string): CtrError {
  return new CtrError('permission-denied', `registry ${domain}: unauthorized: ${why} (${what})`)
}

function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (Symbol.asyncIterator in body || body instanceof ReadableStream)
}

/**
 * The error codes along a fetch failure's cause chain (undici: TypeError "fetch failed" or "terminated",
 * caused by a SocketError UND_ERR_SOCKET, a system error ECONNRESET, an OpenSSL ERR_SSL_...): decided by
 * code, never by text.
 */
function errorCodes(error: unknown): string[] {
  const codes: string[] = []
  for (let current = error, depth = 0; current && depth < 5; current = (current as {cause?: unknown}).cause, depth++) {
    const code = (current as {code?: unknown}).code
    if (typeof code === 'string') codes.push(code)
  }
  return codes
}
