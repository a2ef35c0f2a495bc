/**
 * `ctr containers --filter`: containerd's filter language, with ctr's `status` and docker's `key=value` habits.
 *
 * containerd's grammar (filters/parser.go, 1.6): selectors separated by commas, all of which must match;
 * `fieldpath [op value]` with op `==`, `!=` or `~=` (a regular expression) and no op meaning "present";
 * fieldpath = fields joined by '.', each `[A-Za-z][A-Za-z0-9_]*` or a Go-quoted string; value unquoted (no
 * spaces or commas) or Go-quoted. Several filter strings match if any does. For containers the daemon knows
 * `id`, `image`, `runtime.name` and `labels.<key>`; a field it does not know silently matches nothing, so
 * ctr refuses those. `status` is ctr's (the task's state): evaluated here, after the daemon's answer.
 *
 * Two kinds of --filter text:
 * - docker-style, one `key=value` (status=running, id=web, label=k, label=k=v): as before — different keys
 *   must all match, repeated status= or id= match any of their values, every label= must match;
 * - containerd-style (an operator ==, != or ~=, commas, or a bare field path): each text is one alternative,
 *   and the texts are ORed as containerd does. A single `=` inside a containerd-style text means `==`
 *   (`status=stopped,id=redis`), and `label` is accepted for `labels` (`label==k` is `labels."k"`).
 * Both kinds given together must both hold. A text that does not parse is a usage error, never an empty list.
 */
import {optionError} from '../containerd/errors'
import type {ProcessStatus} from '../tasks/status'

export const CONTAINER_STATUSES: readonly ProcessStatus[] = ['created', 'running', 'paused', 'pausing', 'stopped', 'unknown']

/** A docker-style filter, evaluated by ctr. */
export interface ContainerFilter {
  key: 'status' | 'id' | 'label'
  /** For label: the label key. */
  name?: string
  /** For label: the value, or undefined to match any value. */
  value?: string
}

export type Operator = '==' | '!=' | '~='

/** One containerd-style alternative: what the daemon evaluates, and the status conditions ctr evaluates. */
export interface FilterAlternative {
  /** The selectors for Containers.List, in containerd's canonical syntax ('' for all). */
  daemon: string
  status: Array<{op: Operator; value: string}>
}

export interface ContainerFilters {
  docker: ContainerFilter[]
  /** Empty: no containerd-style filter given. */
  alternatives: FilterAlternative[]
}

const DAEMON_FIELDS = ['id', 'image', 'runtime.name', 'labels.<key>']

export function parseContainerFilters(texts: readonly string[]): ContainerFilters {
  const result: ContainerFilters = {docker: [], alternatives: []}
  for (const text of texts) {
    if (isDockerStyle(text)) result.docker.push(parseDockerFilter(text))
    else result.alternatives.push(parseAlternative(text))
  }
  return result
}

/** `key=value` with a plain key and no containerd operator or comma. */
function isDockerStyle(text: string): boolean {
  return /^[a-z]+=/.test(text) && !/[=!~]=/.test(text) && !text.includes(',')
}

function parseDockerFilter(text: string): ContainerFilter {
  const eq = text.indexOf('=')
  const key = text.slice(0, eq)
  const value = text.slice(eq + 1)
  const bad = (why: string) => optionError('usage', (o) => `invalid ${o('filter')} "${text}": ${why}`)
  if (key === 'status') {
    if (!(CONTAINER_STATUSES as readonly string[]).includes(value)) throw bad(`status must be one of ${CONTAINER_STATUSES.join(', ')}`)
    return {key, value}
  }
  if (key === 'id') {
    if (!value) throw bad('id needs a value (id=ID)')
    return {key, value}
  }
  if (key === 'label') {
    if (!value) throw bad('label needs a key (label=KEY or label=KEY=VALUE)')
    const labelEq = value.indexOf('=')
    return labelEq < 0 ? {key, name: value} : {key, name: value.slice(0, labelEq), value: value.slice(labelEq + 1)}
  }
  throw bad(`unknown field "${key}": use status, ${DAEMON_FIELDS.join(', ')} (containerd's syntax: field==value, field!=value, field~=regex)`)
}

interface Selector {
  path: string[]
  op?: Operator
  value?: string
}

/** One containerd filter string → its selectors, split into the daemon's and ctr's `status`. */
function parseAlternative(text: string): FilterAlternative {
  const bad = (why: string) => optionError('usage', (o) => `invalid ${o('filter')} "${text}": ${why}`)
  const selectors = parseSelectors(text, bad)
  const daemon: string[] = []
  const status: FilterAlternative['status'] = []
  for (const selector of selectors) {
    let path = selector.path
    if (path[0] === 'label') {
      // docker's `label==k` / `label==k=v` for containerd's labels."k" / labels."k"==v
      if (path.length === 1 && selector.value !== undefined && selector.op === '==') {
        const eq = selector.value.indexOf('=')
        path = ['labels', eq < 0 ? selector.value : selector.value.slice(0, eq)]
        selector.value = eq < 0 ? undefined : selector.value.slice(eq + 1)
        if (selector.value === undefined) selector.op = undefined
      } else {
        path = ['labels', ...path.slice(1)]
      }
    }
    const field = path.join('.')
    if (field === 'status') {
      if (!selector.op || selector.value === undefined) throw bad('status needs a value (status==running)')
      if (selector.op === '~=') checkRegex(selector.value, bad)
      else if (!(CONTAINER_STATUSES as readonly string[]).includes(selector.value)) throw bad(`status must be one of ${CONTAINER_STATUSES.join(', ')}`)
      status.push({op: selector.op, value: selector.value})
      continue
    }
    const known = field === 'id' || field === 'image' || field === 'runtime.name' || (path[0] === 'labels' && path.length >= 2)
    if (!known) throw bad(`unknown field "${field}": use status, ${DAEMON_FIELDS.join(', ')}`)
    if (selector.op === '~=') checkRegex(selector.value!, bad)
    daemon.push(formatSelector({...selector, path}))
  }
  return {daemon: daemon.join(','), status}
}

function parseSelectors(text: string, bad: (why: string) => Error): Selector[] {
  let i = 0
  const selectors: Selector[] = []
  const quoted = (): string => {
    const quote = '"'
    let j = i + 1
    let body = ''
    while (j < text.length && text[j] !== quote) {
      if (text[j] === '\\' && j + 1 < text.length) {
        body += text[j] + text[j + 1]
        j += 2
      } else body += text[j++]
    }
    if (j >= text.length) throw bad('quoted text not terminated')
    i = j + 1
    try {
      return JSON.parse(`"${body}"`) as string
    } catch {
      throw bad(`bad escape in "${body}"`)
    }
  }
  if (!text.trim()) throw bad('empty filter')
  for (;;) {
    const path: string[] = []
    for (;;) {
      if (text[i] === '"') {
        path.push(quoted())
      } else {
        const m = /^[A-Za-z][A-Za-z0-9_]*/.exec(text.slice(i))
        if (!m) throw bad(`expected a field name at position ${i + 1}`)
        path.push(m[0])
        i += m[0].length
      }
      if (text[i] !== '.') break
      i++
    }
    const selector: Selector = {path}
    const op = text.slice(i, i + 2)
    if (op === '==' || op === '!=' || op === '~=') {
      selector.op = op
      i += 2
    } else if (text[i] === '=') {
      selector.op = '=='
      i += 1
    }
    if (selector.op) {
      // Only "..." quotes here: an unquoted value may begin with '/' (a path), and is sent quoted.
      if (text[i] === '"') {
        selector.value = quoted()
      } else {
        const m = /^[^\s,]+/.exec(text.slice(i))
        if (!m) throw bad(`expected a value after ${selector.op}`)
        selector.value = m[0]
        i += m[0].length
      }
    }
    selectors.push(selector)
    if (i === text.length) return selectors
    if (text[i] !== ',') throw bad(`unexpected "${text[i]}" at position ${i + 1}`)
    i++
  }
}

function checkRegex(value: string, bad: (why: string) => Error): void {
  try {
    new RegExp(value)
  } catch {
    throw bad(`not a valid regular expression: ${value}`)
  }
}

/** A selector in containerd's syntax, every field and value quoted where it has to be. */
function formatSelector(selector: Selector): string {
  const path = selector.path.map((field) => (/^[A-Za-z][A-Za-z0-9_]*$/.test(field) ? field : JSON.stringify(field))).join('.')
  if (!selector.op) return path
  return `${path}${selector.op}${JSON.stringify(selector.value)}`
}

export function matchesStatus(status: string, conditions: FilterAlternative['status']): boolean {
  return conditions.every(({op, value}) => (op === '==' ? status === value : op === '!=' ? status !== value : new RegExp(value).test(status)))
}
