import {describe, expect, it} from 'vitest'

import {CtrError, EXIT} from '../../../src/lib/containerd/errors'
import {startError} from '../../../src/lib/tasks/start'

const runc = (text: string) =>
  new CtrError('internal', `failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${text}`)

describe('startError', () => {
  it('maps a command not found to 127', () => {
    const error = startError(runc('exec: "nosuch": executable file not found in $PATH'), 'web', 'nosuch') as CtrError
    expect(error.exitCode).toBe(EXIT.commandNotFound)
    expect(error.message).toBe('cannot start container "web": "nosuch": executable file not found')
  })
  it('maps a missing absolute path to 127', () => {
    const error = startError(runc('exec: "/bin/nosuch": stat /bin/nosuch: no such file or directory'), 'web', '/bin/nosuch') as CtrError
    expect(error.exitCode).toBe(EXIT.commandNotFound)
  })
  it('maps a command that is not executable to 126', () => {
    const error = startError(runc('exec: "/etc/passwd": permission denied'), 'web', '/etc/passwd') as CtrError
    expect(error.exitCode).toBe(EXIT.cannotInvoke)
    expect(error.message).toContain('permission denied')
  })
  it('names the working directory when runc cannot enter it', () => {
    const error = startError(runc('chdir to cwd ("/nope") set in config.json failed: no such file or directory'), 'web', 'sh') as CtrError
    expect(error.exitCode).toBe(EXIT.failure)
    expect(error.message).toBe('cannot start container "web": working directory "/nope" does not exist in the container')
  })
  it('leaves other runtime errors at 125, naming the container', () => {
    const error = startError(runc('mkdir /rootfs/etc/passwd: not a directory'), 'web', 'sh') as CtrError
    expect(error.exitCode).toBe(EXIT.failure)
    expect(error.message).toMatch(/^cannot start container "web": failed to create shim task/)
  })
  it('says a duplicate ID plainly', () => {
    const error = startError(new CtrError('already-exists', 'container "web": already exists'), 'web', 'sh') as CtrError
    expect(error.message).toBe('container "web" already exists')
  })
})
