/**
 * docker's `--log-opt KEY=VALUE` for ctr's log writer: max-size (rotate at, docker's units: 10k, 64m, 1g,
 * binary multiples as docker's go-units RAMInBytes reads them) and max-file (files kept, the current one
 * included). docker's json-file driver and nerdctl's take the same two; without them a log never rotates.
 */
import {usageError} from '../containerd/errors'

const UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4}

/** A size as docker writes it (`64m`, `1g`, `512k`, `100`, `1.5g`, `10mb`): bytes, or undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim())
  if (!match) return undefined
  const bytes = Math.round(Number(match[1]) * UNITS[match[2].toLowerCase()])
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

export interface LogRotation {
  maxSize?: number
  maxFiles?: number
}

/** `max-size=SIZE` and `max-file=N`; anything else is a one-line usage error naming it. */
export function parseLogOptions(entries: readonly string[]): LogRotation {
  const rotation: LogRotation = {}
  for (const entry of entries) {
    const at = entry.indexOf('=')
    const [key, value] = at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)]
    if (key === 'max-size') {
      const size = parseByteSize(value)
      if (size === undefined || size < 1) throw usageError(`invalid log option max-size ${JSON.stringify(value)}: use a size such as 10m or 1g`)
      rotation.maxSize = size
    } else if (key === 'max-file') {
      if (!/^\d+$/.test(value) || Number(value) < 1)
        throw usageError(`invalid log option max-file ${JSON.stringify(value)}: use a whole number of files, 1 or more`)
      rotation.maxFiles = Number(value)
    } else {
      throw usageError(`unknown log option ${JSON.stringify(key)} (ctr knows max-size and max-file)`)
    }
  }
  if (rotation.maxFiles !== undefined && rotation.maxSize === undefined) throw usageError('log option max-file needs max-size')
  return rotation
}
