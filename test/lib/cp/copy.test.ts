import {describe, expect, it} from 'vitest'

import {parseCopyEnd} from '../../../src/lib/cp/copy'

describe('parseCopyEnd (docker cp argument forms)', () => {
  it('tells ID:PATH from host paths and -', () => {
    expect(parseCopyEnd('web:/etc/hosts')).toEqual({kind: 'container', id: 'web', path: '/etc/hosts'})
    expect(parseCopyEnd('web:rel/path')).toEqual({kind: 'container', id: 'web', path: 'rel/path'})
    expect(parseCopyEnd('-')).toEqual({kind: 'stream'})
    // A colon after a slash, or a path starting with / or ., is the host's (docker: ./a:b for a file a:b).
    for (const text of ['./a:b', '/tmp/a:b', 'dir/a:b', '.', 'plain']) expect(parseCopyEnd(text)).toEqual({kind: 'host', path: text})
  })

  it('refuses an empty path after ID: and an invalid ID, in one line', () => {
    expect(() => parseCopyEnd('web:')).toThrow(/no path after "web:"/)
    expect(() => parseCopyEnd('-bad:/x')).toThrow(/invalid container ID "-bad"/)
  })
})
