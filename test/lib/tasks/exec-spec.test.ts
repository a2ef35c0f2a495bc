import {describe, expect, it} from 'vitest'

import {checkExecId, deriveProcessSpec, mergeEnv, newExecId, type OciProcess} from '../../../src/lib/tasks/exec-spec'
import {usageMessage} from '../../helpers/usage-error'

const containerProcess: OciProcess = {
  terminal: true,
  consoleSize: {height: 24, width: 80},
  user: {uid: 0, gid: 0, additionalGids: [10, 11], username: 'root', umask: 18},
  args: ['sleep', '1000'],
  env: ['PATH=/usr/bin:/bin', 'HOME=/root', 'TERM=xterm'],
  cwd: '/srv',
  capabilities: {bounding: ['CAP_KILL']},
  rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
  noNewPrivileges: true,
}

describe('deriveProcessSpec', () => {
  it('keeps the container process and replaces args; no terminal unless asked', () => {
    const spec = deriveProcessSpec(containerProcess, {args: ['sh', '-c', 'echo hi']})
    expect(spec.args).toEqual(['sh', '-c', 'echo hi'])
    expect(spec.terminal).toBe(false)
    expect(spec.consoleSize).toBeUndefined()
    expect(spec.cwd).toBe('/srv')
    expect(spec.env).toEqual(containerProcess.env)
    expect(spec.user).toEqual(containerProcess.user)
    expect(spec.capabilities).toEqual({bounding: ['CAP_KILL']})
    expect(spec.rlimits).toEqual(containerProcess.rlimits)
    expect(spec.noNewPrivileges).toBe(true)
  })

  it('does not modify the container spec', () => {
    const copy = structuredClone(containerProcess)
    deriveProcessSpec(containerProcess, {args: ['id'], env: ['HOME=/tmp'], uid: 5, cwd: '/tmp', terminal: true})
    expect(containerProcess).toEqual(copy)
  })

  it('applies cwd, terminal, env overrides and appends new variables', () => {
    const spec = deriveProcessSpec(containerProcess, {args: ['env'], cwd: '/tmp', terminal: true, env: ['HOME=/tmp', 'FOO=bar', 'EMPTY=', 'EQ=a=b']})
    expect(spec.cwd).toBe('/tmp')
    expect(spec.terminal).toBe(true)
    expect(spec.env).toEqual(['PATH=/usr/bin:/bin', 'HOME=/tmp', 'TERM=xterm', 'FOO=bar', 'EMPTY=', 'EQ=a=b'])
  })

  it('sets the console size only for a terminal', () => {
    const size = {width: 100, height: 30}
    expect(deriveProcessSpec(containerProcess, {args: ['sh'], terminal: true, consoleSize: size}).consoleSize).toEqual(size)
    expect(deriveProcessSpec(containerProcess, {args: ['sh'], terminal: false, consoleSize: size}).consoleSize).toBeUndefined()
    expect(deriveProcessSpec(containerProcess, {args: ['sh'], terminal: true, consoleSize: {width: 0, height: 0}}).consoleSize).toBeUndefined()
  })

  it('sets uid and gid, dropping the container user groups and name', () => {
    expect(deriveProcessSpec(containerProcess, {args: ['id'], uid: 1000, gid: 1000}).user).toEqual({uid: 1000, gid: 1000, umask: 18})
    expect(deriveProcessSpec(containerProcess, {args: ['id'], uid: 1000}).user).toEqual({uid: 1000, gid: 0, umask: 18})
    expect(deriveProcessSpec(containerProcess, {args: ['id'], gid: 7}).user).toEqual({uid: 0, gid: 7, umask: 18})
  })

  it('fills defaults for a container spec without a process', () => {
    const spec = deriveProcessSpec(undefined, {args: ['true'], uid: 3})
    expect(spec).toEqual({args: ['true'], terminal: false, cwd: '/', env: [], user: {uid: 3, gid: 0}})
    expect(deriveProcessSpec({}, {args: ['true']}).user).toEqual({uid: 0, gid: 0})
  })

  it('requires a command', () => {
    expect(usageMessage(() => deriveProcessSpec(containerProcess, {args: []}))).toMatch(/^missing command/)
    expect(usageMessage(() => deriveProcessSpec(containerProcess, {args: ['']}))).toMatch(/^missing command/)
  })

  it('rejects a relative cwd naming it', () => {
    expect(usageMessage(() => deriveProcessSpec(containerProcess, {args: ['pwd'], cwd: 'tmp'}))).toBe(
      'invalid working directory "tmp": must be an absolute path inside the container',
    )
  })

  it.each([['NOEQUALS'], ['=value'], ['']])('rejects env entry %j by position without echoing it', (bad) => {
    const message = usageMessage(() => deriveProcessSpec(containerProcess, {args: ['env'], env: ['OK=1', bad]}))
    expect(message).toMatch(/^invalid environment entry #2: expected KEY=VALUE/)
    if (bad) expect(message).not.toContain(bad)
  })

  it('does not echo a secret-looking value in an env error', () => {
    const message = usageMessage(() => deriveProcessSpec(containerProcess, {args: ['env'], env: ['s3cr3t-token-value']}))
    expect(message).not.toContain('s3cr3t')
  })

  it.each([[-1], [1.5], [2 ** 32], [Number.NaN]])('rejects uid/gid %d naming the option', (bad) => {
    expect(usageMessage(() => deriveProcessSpec(containerProcess, {args: ['id'], uid: bad}))).toMatch(/^invalid UID/)
    expect(usageMessage(() => deriveProcessSpec(containerProcess, {args: ['id'], gid: bad}))).toMatch(/^invalid GID/)
  })
})

describe('mergeEnv', () => {
  it('replaces in place and appends, the last override winning', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'C=5'])).toEqual(['A=1', 'B=3', 'C=5'])
  })
})

describe('exec IDs', () => {
  it('generates distinct valid IDs', () => {
    const ids = new Set(Array.from({length: 50}, () => newExecId()))
    expect(ids.size).toBe(50)
    for (const id of ids) {
      expect(id).toMatch(/^exec-[0-9a-f]{12}$/)
      expect(() => checkExecId(id)).not.toThrow()
    }
  })

  it.each(['a', 'my-exec', 'x.y_z-1', 'A'.repeat(76)])('accepts %j', (id) => expect(() => checkExecId(id)).not.toThrow())

  it.each(['', 'bad id', '-lead', 'trail-', 'a--b', 'a/b', 'A'.repeat(77), 'ü'])('rejects %j naming it', (id) => {
    expect(usageMessage(() => checkExecId(id))).toContain(`invalid exec ID "${id}"`)
  })
})
