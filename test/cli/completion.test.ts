import {describe, expect, it} from 'vitest'

import {type CommandMeta, completionModel} from '../../src/cli/completion'

const command = (meta: Partial<CommandMeta> & {id: string}): CommandMeta => meta

describe('completionModel', () => {
  it('completes container IDs, directories and files only where the command declares them, never from help prose', () => {
    const model = completionModel('ctr', [
      command({
        id: 'containers:kill',
        strict: false,
        completion: {containerIds: ['id']},
        args: {id: {description: 'container ID (several may be given)'}},
        flags: {signal: {type: 'option', description: 'signal to send'}, address: {type: 'option', description: 'containerd socket'}},
      }),
      command({
        id: 'containers:start',
        completion: {dirs: ['bundle']},
        args: {id: {description: 'container ID'}, bundle: {description: 'OCI bundle directory'}},
      }),
      command({id: 'bench', completion: {dirs: ['bundle']}, flags: {prefix: {type: 'option', description: 'container ID prefix'}}}),
    ])
    const byPath = new Map(model.commands.map((c) => [c.path, c]))
    expect(byPath.get('containers kill')).toMatchObject({args: ['container'], repeatsLast: true})
    const killFlags = new Map(byPath.get('containers kill')!.flags.map((f) => [f.names[0], f.value]))
    expect(killFlags.get('--signal')).toBe('value')
    expect(killFlags.get('--address')).toBe('file')
    // start's ID is a new container's: described as "container ID", but not completed as one.
    expect(byPath.get('containers start')!.args).toEqual(['value', 'dir'])
    expect(byPath.get('bench')!.flags.find((f) => f.names[0] === '--prefix')!.value).toBe('value')
  })
})
