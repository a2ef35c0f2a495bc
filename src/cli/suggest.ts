/**
 * "Did you mean" for mistyped commands: Damerau-Levenshtein distance over the known command IDs. Runs only
 * after a lookup failed, so it costs nothing on the normal path.
 */

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours as one edit each. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({length: rows}, (_, i) => Array.from({length: cols}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The closest candidate to `typed`, if it is close enough to be a typo: at most a third of its length
 * away (at least 1, at most 3 edits), or `typed` is a prefix of exactly one candidate. Ties: the first.
 */
export function closest(typed: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates]
  const prefixed = list.filter((c) => typed.length >= 2 && c.startsWith(typed))
  if (prefixed.length === 1) return prefixed[0]
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of list) {
    const distance = editDistance(typed, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  const allowed = Math.min(3, Math.max(1, Math.floor(Math.max(typed.length, best?.length ?? 0) / 3)))
  return bestDistance <= allowed ? best : undefined
}

/**
 * Suggests a command for a mistyped one. `typedId` is oclif's ID (`contaners` or `containers:strt`);
 * `ids` are the registered IDs and aliases (with ':'). The words are compared the way the user typed them,
 * with spaces; a mistyped word after a correct topic is compared with that topic's commands only.
 */
export function suggestCommand(typedId: string, ids: Iterable<string>): string | undefined {
  const spaced = [...ids].map((id) => id.replaceAll(':', ' '))
  // oclif's ID may include arguments (`containers:strat:redis`): try the longest run of words first.
  const all = typedId.split(':')
  for (let k = all.length; k >= 1; k--) {
    const suggestion = suggestWords(all.slice(0, k), spaced)
    if (suggestion) return suggestion
  }
  return undefined
}

function suggestWords(words: string[], spaced: string[]): string | undefined {
  const typed = words.join(' ')
  // Every topic prefix is a candidate too (`contaners` → `containers` even if only `containers start` exists).
  const candidates = new Set<string>()
  for (const id of spaced) {
    const parts = id.split(' ')
    for (let k = 1; k <= parts.length; k++) candidates.add(parts.slice(0, k).join(' '))
  }
  const sameDepth = [...candidates].filter((c) => c.split(' ').length === words.length)
  const parent = words.slice(0, -1).join(' ')
  if (parent && candidates.has(parent)) {
    const last = words[words.length - 1]
    const siblings = sameDepth.filter((c) => c.startsWith(parent + ' ')).map((c) => c.slice(parent.length + 1))
    const match = closest(last, siblings)
    return match === undefined ? undefined : `${parent} ${match}`
  }
  return closest(typed, sameDepth)
}
