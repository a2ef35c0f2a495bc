import {usageError} from '../lib/containerd/errors'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * `500ms`, `10s`, `2m`, `1h`, `1.5s`, or a bare number of seconds (as Go ctr's users type) → milliseconds.
 * `0` means "no deadline" to the caller. `flag` names the flag in the error.
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (!m) throw usageError(`invalid ${flag} "${text}": expected a duration such as 500ms, 10s or 2m`)
  const ms = Math.round(Number(m[1]) * UNITS[m[2] ?? 's'])
  if (!Number.isFinite(ms) || ms > 2_147_483_647) throw usageError(`invalid ${flag} "${text}": too long`)
  return ms
}
