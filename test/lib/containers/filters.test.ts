import {describe, expect, it} from 'vitest'

import {matchesStatus, parseContainerFilters} from '../../../src/lib/containers/filters'

const where = (texts: string[]) => parseContainerFilters(texts).alternatives

describe('parseContainerFilters', () => {
  it('docker-style key=value stays docker-style', () => {
    expect(parseContainerFilters(['status=running', 'id=web', 'label=a=b'])).toEqual({
      docker: [
        {key: 'status', value: 'running'},
        {key: 'id', value: 'web'},
        {key: 'label', name: 'a', value: 'b'},
      ],
      alternatives: [],
    })
  })

  it("containerd's syntax: the daemon's part quoted canonically, status kept for ctr", () => {
    expect(where(['id==web'])).toEqual([{daemon: 'id=="web"', status: []}])
    expect(where(['status==running'])).toEqual([{daemon: '', status: [{op: '==', value: 'running'}]}])
    expect(where(['status=stopped,id=redis'])).toEqual([{daemon: 'id=="redis"', status: [{op: '==', value: 'stopped'}]}])
    expect(where(['id~=red'])).toEqual([{daemon: 'id~="red"', status: []}])
    expect(where(['labels."k.x"==v'])).toEqual([{daemon: 'labels."k.x"=="v"', status: []}])
    expect(where(['label==x'])).toEqual([{daemon: 'labels.x', status: []}])
    expect(where(['label==a.b=c'])).toEqual([{daemon: 'labels."a.b"=="c"', status: []}])
    expect(where(['image=="docker.io/library/busybox:1"', 'runtime.name!=x'])).toEqual([
      {daemon: 'image=="docker.io/library/busybox:1"', status: []},
      {daemon: 'runtime.name!="x"', status: []},
    ])
  })

  it.each([
    ['colour=red', /unknown field "colour"/],
    ['colour==red', /unknown field "colour"/],
    ['status==sleepy', /status must be one of/],
    ['id==', /expected a value/],
    ['id~=(', /not a valid regular expression/],
    ['id=="web', /not terminated/],
    ['==x', /expected a field name/],
    ['id==a b', /unexpected " "/],
    ['', /empty filter/],
  ])('%j is refused', (text, message) => {
    expect(() => parseContainerFilters([text])).toThrow(message)
  })

  it('status conditions', () => {
    expect(matchesStatus('running', [{op: '==', value: 'running'}])).toBe(true)
    expect(matchesStatus('running', [{op: '!=', value: 'running'}])).toBe(false)
    expect(matchesStatus('paused', [{op: '~=', value: '^pa'}])).toBe(true)
  })
})
