import {usageError} from '../lib/containerd/errors'

/** Go's time.ParseDuration units, in milliseconds. */
const UNITS: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y

/**
 * Go's duration syntax (`500ms`, `10s`, `1m30s`, `1.5h`, `2h45m`), or a bare number of seconds (as
 * ctr's users typed before) → milliseconds. `0` means "no deadline" to the caller; anything else under
 * 1 ms is refused (grpc-js deadlines and timers have millisecond resolution). `flag` names the flag.
 */
export function parseDuration(text: string, flag: string): number {
  const bad = (why: string) => usageError(`invalid ${flag} "${text}": ${why}`)
  const s = text.trim()
  let ms: number
  if (/^\d+(?:\.\d+)?$/.test(s)) {
    ms = Number(s) * 1000
  } else {
    if (!s) throw bad('expected a duration such as 500ms, 10s or 1m30s')
    ms = 0
    PART.lastIndex = 0
    while (PART.lastIndex < s.length) {
      const at = PART.lastIndex
      const m = PART.exec(s)
      if (!m || m.index !== at) throw bad('expected a duration such as 500ms, 10s or 1m30s')
      ms += Number(m[1]) * UNITS[m[2]]
    }
  }
  if (!Number.isFinite(ms) || ms > 2_147_483_647) throw bad('too long')
  if (ms > 0 && ms < 1) throw bad('under 1ms (use 0 for no deadline)')
  return Math.round(ms)
}
