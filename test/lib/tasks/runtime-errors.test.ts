import {describe, expect, it} from 'vitest'

import {CtrError, EXIT} from '../../../src/lib/containerd/errors'
import {processStartError, runtimeFailure} from '../../../src/lib/tasks/runtime-errors'

// The shim's wrappers around runc's words, as containerd 1.6 sends them.
const create = (text: string) =>
  new CtrError('internal', `failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${text}`)
const exec = (text: string) => new CtrError('internal', `OCI runtime exec failed: exec failed: unable to start container process: ${text}`)

describe('runtimeFailure', () => {
  it("reads each kind from runc's words, quotes escaped or not", () => {
    expect(runtimeFailure('exec: "nosuch": executable file not found in $PATH: unknown')).toEqual({kind: 'command-not-found', command: 'nosuch'})
    expect(runtimeFailure('exec: \\"/bin/x\\": stat /bin/x: no such file or directory')).toEqual({kind: 'command-not-found', command: '/bin/x'})
    expect(runtimeFailure('exec: "/etc/passwd": permission denied')).toEqual({kind: 'not-executable', command: '/etc/passwd'})
    expect(runtimeFailure('chdir to cwd ("/nope") set in config.json failed: no such file or directory: unknown')).toEqual({
      kind: 'cwd',
      cwd: '/nope',
      reason: 'no such file or directory',
    })
    expect(runtimeFailure('chdir to cwd (\\"/nope\\") set in config.json failed: no such file or directory')).toMatchObject({kind: 'cwd', cwd: '/nope'})
    expect(runtimeFailure('cgroups: cannot find cgroup mount destination')).toBeUndefined()
  })
})

describe('processStartError', () => {
  const target = {id: 'web', command: 'sh', exec: true}

  it('a command not found: 127, for exec and start', () => {
    const forExec = processStartError(exec('exec: "nope": executable file not found in $PATH: unknown'), {...target, command: 'nope'})!
    expect(forExec.exitCode).toBe(EXIT.commandNotFound)
    expect(forExec.kind).toBe('not-found')
    expect(forExec.message).toBe('cannot exec "nope" in container "web": executable file not found')
    const forStart = processStartError(create('exec: "/bin/nosuch": stat /bin/nosuch: no such file or directory'), {id: 'web', command: '/bin/nosuch'})!
    expect(forStart.exitCode).toBe(EXIT.commandNotFound)
    expect(forStart.message).toBe('cannot start container "web": "/bin/nosuch": executable file not found')
  })

  it('a command that is not executable: 126', () => {
    const error = processStartError(exec('exec: "/etc/passwd": permission denied: unknown'), {...target, command: '/etc/passwd'})!
    expect(error.exitCode).toBe(EXIT.cannotInvoke)
    expect(error.kind).toBe('permission-denied')
    expect(error.message).toBe('cannot exec "/etc/passwd" in container "web": permission denied')
  })

  it("a missing working directory names it, not the command (ctr's 125)", () => {
    const error = processStartError(exec('chdir to cwd ("/nope") set in config.json failed: no such file or directory: unknown'), target)!
    expect(error.exitCode).toBe(EXIT.failure)
    expect(error.kind).toBe('invalid-argument')
    expect(error.message).toBe('cannot exec "sh" in container "web": working directory "/nope" does not exist in the container')
    const file = processStartError(exec('chdir to cwd ("/etc/passwd") set in config.json failed: not a directory'), target)!
    expect(file.message).toBe('cannot exec "sh" in container "web": working directory "/etc/passwd" is not a directory')
    const denied = processStartError(exec('chdir to cwd ("/root") set in config.json failed: permission denied'), target)!
    expect(denied.exitCode).toBe(EXIT.failure)
    expect(denied.message).toBe('cannot exec "sh" in container "web": working directory "/root" cannot be entered: permission denied')
  })

  it('leaves anything else to the caller', () => {
    expect(processStartError(exec('cgroups: cannot find cgroup mount destination'), target)).toBeUndefined()
    expect(processStartError(new Error('exec: "x": permission denied'), target)).toBeUndefined()
  })
})
