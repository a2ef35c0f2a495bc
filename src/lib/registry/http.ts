/**
 * The one HTTP path of the registry client: Node's own `node:http` / `node:https` (they take TLS options:
 * CAs, client certificates, no verification), loaded only when a registry is contacted. Chosen over fetch:
 * draining a 70 MB layer through fetch's WHATWG streams cost ≈270 ms of CPU, ≈150 ms through a `node:http`
 * response (docs/performance.md), and fetch takes no TLS options (a second client, undici, was needed).
 *
 * Keep-alive agents, one per scheme and TLS settings per process, so a pull's blobs reuse connections.
 * Redirects are followed as fetch does (at most MAX_REDIRECTS; a 303, or a 301/302 of a POST, becomes a
 * GET without a body; Authorization is dropped when the redirect leaves the origin). A deadline covers each
 * answer (until its headers, re-armed while a body is sent); the signal aborts the request and its body.
 */
import type {Agent as HttpAgent, ClientRequest, IncomingMessage} from 'node:http'
import type {Agent as HttpsAgent} from 'node:https'

import type {HostTls} from './hosts'

const MAX_REDIRECTS = 20

export interface HttpRequest {
  method: string
  headers: Record<string, string>
  body?: Uint8Array | string | AsyncIterable<Uint8Array>
  signal?: AbortSignal
  /** The TLS settings of the host asked (for https; redirects to other hosts keep them, as the fetch Agent did). */
  tls?: HostTls
  /** Until the answer's headers (re-armed by each piece of a body sent); 0: none. */
  timeoutMs: number
  /** The error to fail with when the deadline passes. */
  onTimeout: () => Error
}

/** A registry's answer: its status, headers, and body as a Node stream (read with backpressure). */
export interface RegistryResponse {
  readonly status: number
  readonly url: string
  readonly headers: {get(name: string): string | null}
  readonly body: IncomingMessage
}

/** Sends `request` to `url`, following redirects. */
export async function httpRequest(url: string, request: HttpRequest): Promise<RegistryResponse> {
  let current = new URL(url)
  let {method, headers, body} = request
  for (let redirects = 0; ; redirects++) {
    const response = await once(current, method, headers, body, request)
    const location = response.headers.location
    if (!REDIRECTS.has(response.statusCode!) || !location) return answer(current, response)
    discard(response)
    if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`)
    const next = new URL(location, current)
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error(`redirect to ${next.protocol} URL`)
    const status = response.statusCode!
    if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
      method = 'GET'
      body = undefined
      headers = withoutBodyHeaders(headers)
    } else if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      // A stream sent once cannot be sent again (fetch fails the same way).
      throw new Error(`redirect (${status}) of a streamed ${method}`)
    }
    if (next.origin !== current.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'))
    current = next
  }
}

/** Reads a body whole (an error's, a token's), at most `limit` bytes kept. */
export async function readText(response: RegistryResponse, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    if (n < limit) chunks.push(chunk)
    n += chunk.length
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Done with a response: a short rest is read (the connection is reused), a long one closes it. */
export function discard(response: IncomingMessage | RegistryResponse): void {
  const message = 'body' in response ? response.body : response
  if (message.destroyed) return
  const length = Number(message.headers['content-length'] ?? NaN)
  const bodiless = (message as {req?: ClientRequest}).req?.method === 'HEAD' || message.statusCode === 204 || message.statusCode === 304
  if (bodiless || message.complete || length <= 64 * 1024) message.resume()
  else message.destroy()
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

function withoutBodyHeaders(headers: Record<string, string>): Record<string, string> {
  const drop = new Set(['content-length', 'content-type', 'content-encoding', 'content-language', 'content-location'])
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop.has(name.toLowerCase())))
}

function answer(url: URL, message: IncomingMessage): RegistryResponse {
  return {
    status: message.statusCode!,
    url: url.toString(),
    headers: {
      get(name) {
        const value = message.headers[name.toLowerCase()]
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
      },
    },
    body: message,
  }
}

/** One request, no redirects: resolves with the answer's head, its body not read. */
function once(url: URL, method: string, headers: Record<string, string>, body: HttpRequest['body'], options: HttpRequest): Promise<IncomingMessage> {
  const {signal, timeoutMs} = options
  signal?.throwIfAborted()
  const https = url.protocol === 'https:'
  return new Promise<IncomingMessage>((resolve, reject) => {
    const send: ClientRequest = https
      ? https_().request(url, {method, headers, agent: httpsAgent(options.tls)})
      : http_().request(url, {method, headers, agent: httpAgent()})
    let timer: NodeJS.Timeout | undefined
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = () => {
      done()
      send.destroy(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'))
    }
    signal?.addEventListener('abort', onAbort, {once: true})
    if (timeoutMs) timer = setTimeout(() => send.destroy(options.onTimeout()), timeoutMs)
    send.on('error', (error) => {
      done()
      reject(error)
    })
    send.on('response', (message: IncomingMessage) => {
      done()
      // Its errors go to whoever reads it (an iterator's own listener); one not read must not crash the process.
      message.on('error', () => undefined)
      // The signal aborts the body too (Ctrl-C during a download).
      if (signal) {
        const abortBody = () => message.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
        signal.addEventListener('abort', abortBody, {once: true})
        message.once('close', () => signal.removeEventListener('abort', abortBody))
      }
      resolve(message)
    })
    if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) {
      send.end(body)
      return
    }
    void (async () => {
      try {
        for await (const chunk of body) {
          if (send.destroyed) return
          timer?.refresh()
          if (!send.write(chunk)) await drained(send)
        }
        send.end()
      } catch (error) {
        send.destroy(error as Error)
      }
    })()
  })
}

function drained(request: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      request.off('drain', go)
      request.off('close', go)
      resolve()
    }
    request.on('drain', go)
    request.on('close', go)
  })
}

// Loaded at the first registry request, not at start-up.
let httpModule: typeof import('node:http') | undefined
let httpsModule: typeof import('node:https') | undefined
// eslint-disable-next-line @typescript-eslint/no-require-imports
const http_ = () => (httpModule ??= require('node:http') as typeof import('node:http'))
// eslint-disable-next-line @typescript-eslint/no-require-imports
const https_ = () => (httpsModule ??= require('node:https') as typeof import('node:https'))

let plainAgent: HttpAgent | undefined
let defaultTlsAgent: HttpsAgent | undefined
/** One agent per TLS settings (hosts share the object when they share the settings: ./hosts). */
const tlsAgents = new WeakMap<HostTls, HttpsAgent>()

function httpAgent(): HttpAgent {
  return (plainAgent ??= new (http_().Agent)({keepAlive: true}))
}

function httpsAgent(tls: HostTls | undefined): HttpsAgent {
  if (!tls) return (defaultTlsAgent ??= new (https_().Agent)({keepAlive: true}))
  let agent = tlsAgents.get(tls)
  if (!agent) {
    agent = new (https_().Agent)({
      keepAlive: true,
      ...(tls.ca ? {ca: tls.ca} : {}),
      ...(tls.certs.length ? {cert: tls.certs.map((c) => c.cert), key: tls.certs.map((c) => c.key)} : {}),
      rejectUnauthorized: !tls.skipVerify,
    })
    tlsAgents.set(tls, agent)
  }
  return agent
}
