import {describe, expect, it} from 'vitest'

import {isIdentifier, MAX_IDENTIFIER_LENGTH} from '../../../src/lib/containerd/identifiers'

describe('isIdentifier (containerd identifiers.Validate)', () => {
  it('takes letters and digits joined by single . _ -', () => {
    for (const ok of ['a', 'web', 'web-1', 'a.b_c-d', 'A1', 'x'.repeat(MAX_IDENTIFIER_LENGTH)]) expect(isIdentifier(ok), ok).toBe(true)
  })
  it('refuses empty, leading, trailing or doubled separators, other characters and overlong IDs', () => {
    for (const bad of ['', '-a', 'a-', 'a--b', 'a..b', 'a/b', 'a b', 'é', 'x'.repeat(MAX_IDENTIFIER_LENGTH + 1)]) expect(isIdentifier(bad), bad).toBe(false)
  })
})
