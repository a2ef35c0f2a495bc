/**
 * The filter strings sent with Events.Subscribe. Facts this relies on (checked against containerd 1.6.20):
 * - Subscribe ignores the namespace header and streams every namespace, so a `namespace=="<ns>"` selector is
 *   added to every filter unless all namespaces are asked for.
 * - Filters: `field==v`, `!=`, `~=` (regex); comma = AND; several strings = OR. Fields are `topic`,
 *   `namespace` and `event.<proto_field_name>`: `event.container_id` matches task events, `event.id` matches
 *   container events and /tasks/exit (whose `id` is the process: the container ID for init, else the exec ID).
 *   Only string fields match: `event.exit_status==137` and `event.pid==1` silently match nothing.
 * - A syntax error fails the stream at once (UNKNOWN "failed parsing subscription filters"); a malformed regex
 *   gives no error and no events, so regexes are checked here first.
 */
import {optionError} from '../containerd/errors'

export interface FilterOptions {
  namespace: string
  /** Do not restrict to `namespace`. */
  allNamespaces?: boolean
  /** containerd filters as typed by the user; several = OR. */
  filters?: readonly string[]
  /** Only events about this container (task or container events). */
  id?: string
}

/** A Go-syntax quoted string for a filter value (IDs and namespaces never need more than JSON escaping). */
export const quote = (value: string) => JSON.stringify(value)

/**
 * The filter strings to send: each user filter (OR) ANDed with the namespace and the --id selectors. --id needs
 * two alternatives because task events carry `container_id` and container events `id`.
 */
export function buildFilters(options: FilterOptions): string[] {
  const user = (options.filters ?? []).map((f) => f.trim()).filter((f) => f.length > 0)
  for (const f of user) checkFilter(f)
  const base: string[] = options.allNamespaces ? [] : [`namespace==${quote(options.namespace)}`]
  const idSelectors = options.id ? [`event.container_id==${quote(options.id)}`, `event.id==${quote(options.id)}`] : [undefined]
  const userSelectors = user.length > 0 ? user : [undefined]
  const out: string[] = []
  for (const idSel of idSelectors) {
    for (const userSel of userSelectors) {
      const parts = [...base, idSel, userSel].filter((p): p is string => Boolean(p))
      // An empty filter matches everything, which is what "no parts" means.
      out.push(parts.join(','))
    }
  }
  return out.filter((f) => f.length > 0)
}

/**
 * Catches what the daemon would accept silently: a regex (`~=`) that cannot compile matches nothing on 1.6,
 * which looks like a hang. Go's RE2 and JavaScript agree on ordinary patterns; only clear failures are refused.
 */
export function checkFilter(filter: string): void {
  for (const selector of splitSelectors(filter)) {
    // A field path's parts may be quoted ("a b".c); only the operator and what follows matter here.
    const m = /^\s*((?:"(?:[^"\\]|\\.)*"|[^=!~\s"])+)\s*(==|!=|~=)\s*(.*?)\s*$/.exec(selector)
    if (!m) {
      if (!/^\s*(?:"(?:[^"\\]|\\.)*"|[\w.])+\s*$/.test(selector)) {
        throw optionError('usage', (o) => `invalid ${o('filter')} "${filter}": expected field==value, field!=value or field~=regex`)
      }
      continue
    }
    if (m[2] !== '~=') continue
    let pattern = m[3]
    if (pattern.startsWith('"')) {
      try {
        pattern = JSON.parse(pattern)
      } catch {
        continue // Go quoting JSON cannot read: leave it to the daemon
      }
    } else if (/^[/|]/.test(pattern)) {
      pattern = pattern.slice(1, -1)
    }
    try {
      new RegExp(pattern)
    } catch (error) {
      const why = (error as Error).message.replace(/^Invalid regular expression: /, '')
      throw optionError('usage', (o) => `invalid ${o('filter')} "${filter}": bad regular expression ${JSON.stringify(pattern)} (${why})`)
    }
  }
}

/** Splits on commas outside quotes. */
function splitSelectors(filter: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoteChar: string | undefined
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]
    if (quoteChar) {
      if (c === '\\' && quoteChar === '"') {
        current += c + (filter[++i] ?? '')
        continue
      }
      if (c === quoteChar) quoteChar = undefined
    } else if (c === '"' || (c === '/' && /(==|!=|~=)\s*$/.test(current))) {
      quoteChar = c
    } else if (c === ',') {
      parts.push(current)
      current = ''
      continue
    }
    current += c
  }
  parts.push(current)
  return parts
}
