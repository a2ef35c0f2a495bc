import {describe, expect, it} from 'vitest'

import {buildFilters, checkFilter} from '../../../src/lib/events/filters'

describe('buildFilters', () => {
  it('restricts to the namespace by default (Subscribe ignores the namespace header)', () => {
    expect(buildFilters({namespace: 'ns1'})).toEqual(['namespace=="ns1"'])
    expect(buildFilters({namespace: 'ns1', allNamespaces: true})).toEqual([])
  })

  it('ANDs the namespace with each user filter, which stay OR-ed', () => {
    expect(buildFilters({namespace: 'ns1', filters: ['topic=="/tasks/exit"', ' topic~="/containers/" ', '']})).toEqual([
      'namespace=="ns1",topic=="/tasks/exit"',
      'namespace=="ns1",topic~="/containers/"',
    ])
  })

  it('--id matches container_id (task events) or id (container events)', () => {
    expect(buildFilters({namespace: 'n', id: 'web', filters: ['topic~="/tasks/"']})).toEqual([
      'namespace=="n",event.container_id=="web",topic~="/tasks/"',
      'namespace=="n",event.id=="web",topic~="/tasks/"',
    ])
    expect(buildFilters({namespace: 'n', id: 'web', allNamespaces: true})).toEqual(['event.container_id=="web"', 'event.id=="web"'])
  })
})

describe('checkFilter', () => {
  it.each([
    'topic=="/tasks/exit"',
    'namespace==default,topic~=/tasks/',
    'event.container_id',
    'topic~="^/tasks/(start|exit)$"',
    'topic~=/ta,sks/',
    '"quoted field".x==y',
    'topic==',
  ])('accepts %s', (f) => expect(() => checkFilter(f)).not.toThrow())

  it.each([
    ['topic~="(unclosed"', /bad regular expression/],
    ['topic~=[a-', /bad regular expression/],
    ['topic>5', /expected field==value/],
    ['==x', /expected field==value/],
  ])('refuses %s', (f, message) => expect(() => checkFilter(f)).toThrow(message))

  it('is applied by buildFilters, naming the filter', () => {
    expect(() => buildFilters({namespace: 'n', filters: ['topic~="("']})).toThrow(/^invalid filter "topic~="\("": bad regular expression/)
  })
})
