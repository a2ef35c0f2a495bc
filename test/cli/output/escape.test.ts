import {describe, expect, it} from 'vitest'

import {escapeText} from '../../../src/cli/output/escape'

describe('escapeText', () => {
  it('escapes newlines, tabs, ESC, other C0/C1 controls, DEL and the Unicode line separators', () => {
    expect(escapeText('a\nb\r\tc')).toBe('a\\nb\\r\\tc')
    expect(escapeText('\u001b[2Kx')).toBe('\\x1b[2Kx')
    expect(escapeText('\u0000\u0007\u007f\u009b')).toBe('\\x00\\x07\\x7f\\x9b')
    expect(escapeText('p\u2028q\u2029')).toBe('p\\u2028q\\u2029')
  })

  it('keeps printable text of any script as it is', () => {
    expect(escapeText('redis-1 /containers/Ünïcødé 容器 ✓')).toBe('redis-1 /containers/Ünïcødé 容器 ✓')
  })
})
