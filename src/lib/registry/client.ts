/**
 * The OCI distribution API over Node's http/https (./http): one repository of one registry, its
 * authorization (./auth: Basic, or a Bearer token per scope, fetched on the first 401 and kept), a
 * deadline for each answer (the body of a blob may take longer: it is bounded by its own idle timer), and
 * every failure as one CtrError (unreachable, refused, unauthorized, not found, the registry's own error).
 * No registry-client package on npm fits: the maintained ones buffer blobs or cannot push.
 *
 * A registry may be served by several hosts (./hosts: containerd's hosts.toml mirrors, then the registry
 * itself): a request goes to each host that may answer it in turn, as containerd's resolver and fetcher do,
 * until one answers; a host that cannot be reached is not asked again by this client. When all fail, the
 * error names each host and what it said. A host with TLS settings (its CAs, client certificates, no
 * verification) is asked through an https Agent with them.
 */
import {CtrError, formatMs, type OptionNamer, optionWords} from '../containerd/errors'
import {basicHeader, type Credentials, parseChallenge} from './auth'
import {type HostCapability, type HostsOptions, type RegistryHost, registryHosts} from './hosts'
import {discard, httpRequest, readText, type RegistryResponse} from './http'
import {apiHost} from './reference'

export interface RegistryOptions {
  domain: string
  repository: string
  /** http instead of https (a local registry); for the registry itself, when `hosts` is not given. */
  plainHttp?: boolean
  /** The same for every host, or each host's own (by `host[:port]`; the registry itself by `domain`). */
  credentials?: Credentials | ((host: string) => Promise<Credentials | undefined>)
  /** Deadline for each response's headers, and the longest pause within a body; 0 for none (default 30 s). */
  timeoutMs?: number
  signal?: AbortSignal
  /** `pull` or `pull,push`. */
  actions: string
  /** The hosts to ask, in order (./hosts registryHosts); default: the registry itself. */
  hosts?: RegistryHost[]
}

export interface RegistryRequest {
  method?: string
  headers?: Record<string, string>
  body?: Uint8Array | string | AsyncIterable<Uint8Array>
  /** What is asked for, for messages: `manifest 1.0`, `layer sha256:...`. */
  what: string
  /** Statuses that are answers, not errors (default: 2xx). */
  ok?: number[]
  /** `resolve` for a tag: only hosts with that capability are asked (default: every host of the client). */
  capability?: HostCapability
}

const DEFAULT_TIMEOUT_MS = 30_000

/**
 * A client for `ref`'s repository with a pull's or push's connection options: the hosts that may pull
 * (mirrors, then the registry), or the first that may push (as containerd's pusher).
 */
export async function registryFor(
  ref: {domain: string; repository: string},
  options: Pick<RegistryOptions, 'plainHttp' | 'credentials' | 'timeoutMs' | 'signal'> & HostsOptions,
  actions: RegistryOptions['actions'],
): Promise<RegistryClient> {
  const {credentials, timeoutMs, signal} = options
  const all = await registryHosts(ref.domain, options)
  const push = actions.includes('push')
  const hosts = push ? all.filter((h) => h.capabilities.has('push')).slice(0, 1) : all.filter((h) => h.capabilities.has('pull'))
  if (hosts.length === 0) throw new CtrError('not-found', `no host in ${all[0].source} may ${push ? 'push to' : 'pull from'} ${ref.domain} (capabilities)`)
  return new RegistryClient({domain: ref.domain, repository: ref.repository, credentials, timeoutMs, signal, actions, hosts})
}

export type {RegistryResponse} from './http'

/** One host of the registry: its URLs, its authorization once answered. */
class Endpoint {
  readonly base: string
  /** As messages name it: the registry's domain for the registry itself, else the host. */
  readonly label: string
  authorization?: string
  /** Set when it could not be reached: not asked again. */
  down?: CtrError

  constructor(
    readonly host: RegistryHost,
    domain: string,
    repository: string,
  ) {
    this.base = `${host.scheme}://${host.host}${host.path}/${repository}`
    this.label = host.origin ? domain : host.host
  }
}

/** What one host said, for the error that names every host tried. */
const REASONS = new WeakMap<CtrError, (name: OptionNamer) => string>()

export class RegistryClient {
  private readonly endpoints: Endpoint[]
  private readonly timeoutMs: number
  /** Which host sent a response (its body's errors name it). */
  private readonly senders = new WeakMap<RegistryResponse, Endpoint>()

  constructor(private readonly options: RegistryOptions) {
    const hosts = options.hosts ?? [
      {
        scheme: options.plainHttp ? 'http' : 'https',
        host: apiHost(options.domain),
        path: '/v2',
        capabilities: new Set<HostCapability>(['pull', 'resolve', 'push']),
        origin: true,
        header: {},
      },
    ]
    this.endpoints = hosts.map((h) => new Endpoint(h, options.domain, options.repository))
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  get domain(): string {
    return this.options.domain
  }

  /** The first host's repository URL (a push has one host). */
  get base(): string {
    return this.endpoints[0].base
  }

  /**
   * A request to `/v2/<repo><path>` (or an absolute URL, e.g. an upload location), authorized on a 401,
   * at each host that may answer it in turn until one does.
   */
  async request(path: string, init: RegistryRequest): Promise<RegistryResponse> {
    const candidates = init.capability ? this.endpoints.filter((e) => e.host.capabilities.has(init.capability!)) : this.endpoints
    if (candidates.length === 0) throw new CtrError('not-found', `no host of ${this.domain} may ${init.capability} (${init.what})`)
    // An absolute URL (an upload location, a redirect's) belongs to the host that gave it.
    if (/^https?:/.test(path) || path.startsWith('/v2/')) return this.requestAt(this.endpoints[0], path, init)
    const failures: Array<{endpoint: Endpoint; error: CtrError}> = []
    for (const endpoint of candidates) {
      if (endpoint.down) {
        failures.push({endpoint, error: endpoint.down})
        continue
      }
      try {
        return await this.requestAt(endpoint, path, init)
      } catch (error) {
        if (!(error instanceof CtrError) || error.kind === 'cancelled' || candidates.length === 1) throw error
        failures.push({endpoint, error})
      }
    }
    throw allFailed(failures, init.what)
  }

  private async requestAt(endpoint: Endpoint, path: string, init: RegistryRequest): Promise<RegistryResponse> {
    const url = /^https?:/.test(path)
      ? path
      : path.startsWith('/v2/')
        ? new URL(path, endpoint.base).toString()
        : `${endpoint.base}${path}${endpoint.host.origin ? '' : `${path.includes('?') ? '&' : '?'}ns=${encodeURIComponent(this.domain)}`}`
    for (let attempt = 0; ; attempt++) {
      const response = await this.send(endpoint, url, init)
      if (response.status === 401 && attempt === 0 && !isStream(init.body)) {
        discard(response)
        await this.authorize(endpoint, response.headers.get('www-authenticate') ?? '', init.what)
        continue
      }
      if (init.ok?.includes(response.status) || (response.status >= 200 && response.status < 300)) {
        this.senders.set(response, endpoint)
        return response
      }
      throw await this.statusError(endpoint, response, init.what)
    }
  }

  /**
   * The body of a response as chunks (read as they are taken: backpressure to the registry), with an idle
   * timeout (the longest pause of the registry, not of the taker) and transport failures as CtrErrors.
   */
  async *chunks(response: RegistryResponse, what: string): AsyncGenerator<Buffer> {
    const endpoint = this.senders.get(response) ?? this.endpoints[0]
    const body = response.body
    let taken = false
    const timer = this.timeoutMs
      ? setTimeout(() => {
          // The taker holds the last chunk: its time does not count.
          if (taken) timer!.refresh()
          else body.destroy(new CtrError('deadline-exceeded', `registry ${endpoint.label} sent nothing of ${what} for ${formatMs(this.timeoutMs)}`))
        }, this.timeoutMs)
      : undefined
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        taken = true
        yield chunk
        taken = false
        timer?.refresh()
      }
    } catch (error) {
      throw this.transportError(error, what, endpoint)
    } finally {
      clearTimeout(timer)
      if (!body.complete) body.destroy()
    }
  }

  private async send(endpoint: Endpoint, url: string, init: RegistryRequest): Promise<RegistryResponse> {
    const headers: Record<string, string> = {}
    for (const [name, values] of Object.entries(endpoint.host.header)) headers[name.toLowerCase()] = values.join(', ')
    Object.assign(headers, init.headers)
    if (endpoint.authorization) headers.authorization = endpoint.authorization
    let timedOut = false
    try {
      return await httpRequest(url, {
        method: init.method ?? 'GET',
        headers,
        body: init.body,
        signal: this.options.signal,
        tls: endpoint.host.scheme === 'https' ? endpoint.host.tls : undefined,
        timeoutMs: this.timeoutMs,
        onTimeout: () => ((timedOut = true), new Error('no answer')),
      })
    } catch (error) {
      if (this.options.signal?.aborted) throw new CtrError('cancelled', `${init.what}: cancelled`, {cause: error})
      const failure = timedOut ? this.noAnswer(endpoint, init.what, error) : this.transportError(error, init.what, endpoint, true)
      // Unreachable: the other requests of this client do not wait for it again (a mirror that is down).
      if (this.endpoints.length > 1) endpoint.down = failure
      throw failure
    }
  }

  private noAnswer(endpoint: Endpoint, what: string, cause: unknown): CtrError {
    const within = `did not answer within ${formatMs(this.timeoutMs)}`
    const error = new CtrError('deadline-exceeded', `registry ${endpoint.label} ${within} (${what})`, {cause})
    REASONS.set(error, () => within)
    return error
  }

  /** A transport failure (a system, TLS or OpenSSL error: its code) as one line. */
  transportError(error: unknown, what: string, endpoint: Endpoint = this.endpoints[0], beforeAnswer = false): CtrError {
    if (error instanceof CtrError) return error
    if (this.options.signal?.aborted) return new CtrError('cancelled', `${what}: cancelled`, {cause: error})
    const cause = (error as {cause?: {code?: string; message?: string}})?.cause
    const codes = errorCodes(error)
    const has = (...wanted: string[]) => codes.some((code) => wanted.includes(code))
    const tls = codes.find((code) => TLS_VERIFY_CODES.has(code))
    const alert = codes.find((code) => /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|HANDSHAKE_FAILURE|UNKNOWN_CA)$/.test(code))
    const reason: (o: OptionNamer) => string = has('ECONNREFUSED')
      ? () => 'connection refused'
      : has('ENOTFOUND', 'EAI_AGAIN')
        ? () => 'no such host'
        : has('ECONNRESET', 'EPIPE')
          ? // A TLS 1.3 server that wants a client certificate closes the connection after the handshake:
            // the client sees no alert, only the close, before any answer.
            beforeAnswer && endpoint.host.scheme === 'https' && !endpoint.host.tls?.certs.length
            ? (o) => `the connection was closed before an answer (does it want a client certificate? ${o('tlscert')}/${o('tlskey')} or a hosts.toml "client")`
            : () => 'the connection was closed'
          : tls
            ? (o) =>
                `TLS: ${TLS_VERIFY_CODES.get(tls)} (${tls}; trust its CA with ${o('tlscacert')} or a hosts.toml "ca", or skip verification with ${o('skipVerify')})`
            : alert
              ? (o) => `TLS: the registry refused the connection (${alert}; a client certificate? ${o('tlscert')}/${o('tlskey')} or a hosts.toml "client")`
              : has('EPROTO') || codes.some((code) => code.startsWith('ERR_SSL_'))
                ? () => 'it does not speak https (use --plain-http for an http registry)'
                : () => cause?.message ?? (error as Error)?.message ?? String(error)
    return hostError('unavailable', endpoint, reason, what, error)
  }

  private async authorize(endpoint: Endpoint, header: string, what: string): Promise<void> {
    const challenge = parseChallenge(header)
    const given = this.options.credentials
    const credentials = typeof given === 'function' ? await given(endpoint.host.origin ? this.domain : endpoint.host.host) : given
    if (challenge?.scheme === 'basic') {
      if (!credentials) throw unauthorized(endpoint, what, 'credentials required (--user, or docker login)')
      endpoint.authorization = basicHeader(credentials)
      return
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) throw unauthorized(endpoint, what, 'no usable authentication challenge')
    const url = new URL(challenge.params.realm)
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service)
    url.searchParams.set('scope', `repository:${this.options.repository}:${this.options.actions}`)
    const headers: Record<string, string> = {}
    if (credentials) headers.authorization = basicHeader(credentials)
    let response: RegistryResponse
    let text: string
    let timedOut = false
    try {
      response = await httpRequest(url.toString(), {
        method: 'GET',
        headers,
        signal: this.options.signal,
        tls: endpoint.host.tls,
        timeoutMs: this.timeoutMs,
        onTimeout: () => ((timedOut = true), new Error('no answer')),
      })
      text = await readText(response)
    } catch (error) {
      if (timedOut && !this.options.signal?.aborted) throw this.noAnswer(endpoint, `token for ${what}`, error)
      throw this.transportError(error, `token for ${what}`, endpoint)
    }
    if (response.status === 401 || response.status === 403) throw unauthorized(endpoint, what, 'the token service refused the credentials')
    if (response.status < 200 || response.status >= 300) throw hostError('unavailable', endpoint, () => `token service answered ${response.status}`, what)
    let body: {token?: string; access_token?: string} = {}
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      // no token: said below
    }
    const token = body.token ?? body.access_token
    if (!token) throw hostError('unavailable', endpoint, () => 'token service sent no token', what)
    endpoint.authorization = `Bearer ${token}`
  }

  private async statusError(endpoint: Endpoint, response: RegistryResponse, what: string): Promise<CtrError> {
    const text = await readText(response, 64 * 1024).catch(() => '')
    let detail = ''
    try {
      const first = (JSON.parse(text) as {errors?: Array<{code?: string; message?: string}>}).errors?.[0]
      if (first) detail = [first.code, first.message].filter(Boolean).join(': ')
    } catch {
      detail = text.split('\n')[0].slice(0, 200)
    }
    const suffix = detail ? ` (${detail})` : ''
    if (response.status === 401)
      return unauthorized(endpoint, what, this.options.credentials ? 'wrong user name or password' : 'credentials required (--user, or docker login)')
    const [kind, message, reason]: [CtrError['kind'], string, string] =
      response.status === 403
        ? ['permission-denied', `registry ${endpoint.label}: ${what}: denied${suffix}`, `denied${suffix}`]
        : response.status === 404
          ? ['not-found', `${what} not found in ${endpoint.label}/${this.options.repository}${suffix}`, 'not found']
          : ['internal', `registry ${endpoint.label}: ${what}: HTTP ${response.status}${suffix}`, `HTTP ${response.status}${suffix}`]
    const error = new CtrError(kind, message)
    REASONS.set(error, () => reason)
    return error
  }
}

/**
 * `registry HOST: REASON (WHAT)`, its reason kept for the error that names every host tried. A reason that
 * names options renders them as the caller names them (optionError).
 */
function hostError(kind: CtrError['kind'], endpoint: Endpoint, reason: (name: OptionNamer) => string, what: string, cause?: unknown): CtrError {
  const render = (name: OptionNamer) => `registry ${endpoint.label}: ${reason(name)} (${what})`
  const error = new CtrError(kind, render(optionWords), {cause, render})
  REASONS.set(error, reason)
  return error
}

/**
 * Every host failed: one line naming each with what it said. Not found when all said so (as containerd:
 * a 404 sends it to the next host without being the error), else the first other failure's kind.
 */
function allFailed(failures: Array<{endpoint: Endpoint; error: CtrError}>, what: string): CtrError {
  const kind = failures.find((f) => f.error.kind !== 'not-found')?.error.kind ?? 'not-found'
  const render = (name: OptionNamer) =>
    `${what}: no registry host could serve it: ${failures
      .map(({endpoint, error}) => `${endpoint.label}${endpoint.host.origin ? '' : ' (mirror)'}: ${(REASONS.get(error) ?? (() => error.message))(name)}`)
      .join('; ')}`
  return new CtrError(kind, render(optionWords), {render, cause: failures[0].error})
}

function unauthorized(endpoint: Endpoint, what: string, why: string): CtrError {
  return hostError('permission-denied', endpoint, () => `unauthorized: ${why}`, what)
}

/** Node's certificate verification failures (OpenSSL's X509 codes as Node names them), in Go's words. */
const TLS_VERIFY_CODES = new Map([
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'certificate signed by unknown authority'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'certificate signed by unknown authority'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'certificate signed by unknown authority'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'certificate signed by unknown authority'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
  ['CERT_HAS_EXPIRED', 'certificate has expired'],
  ['CERT_NOT_YET_VALID', 'certificate is not yet valid'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate is not valid for this host name'],
  ['CERT_SIGNATURE_FAILURE', 'certificate signature failure'],
])

function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body
}

/**
 * The error codes along a failure's cause chain (a system error ECONNRESET, a TLS verification code, an
 * OpenSSL ERR_SSL_...): decided by code, never by text.
 */
function errorCodes(error: unknown): string[] {
  const codes: string[] = []
  for (let current = error, depth = 0; current && depth < 5; current = (current as {cause?: unknown}).cause, depth++) {
    const code = (current as {code?: unknown}).code
    if (typeof code === 'string') codes.push(code)
  }
  return codes
}
