import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {defaultLogPath, LOG_LABEL, logRoot, logStdio, prepareLog, removeLog, SYSTEM_LOG_DIR} from '../../../src/lib/logs/files'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-logs-files-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('logRoot', () => {
  it('$CTR_LOG_DIR wins, made absolute', () => {
    expect(logRoot({CTR_LOG_DIR: '/x/logs'}, 1000, '/home/u')).toBe('/x/logs')
    expect(logRoot({CTR_LOG_DIR: 'rel'}, 0, '/root')).toBe(join(process.cwd(), 'rel'))
  })
  it('root: /var/lib/ctr/logs, whatever XDG_STATE_HOME says', () => {
    expect(logRoot({XDG_STATE_HOME: '/s'}, 0, '/root')).toBe(SYSTEM_LOG_DIR)
  })
  it('a user: $XDG_STATE_HOME/ctr/logs, else ~/.local/state/ctr/logs; a relative XDG_STATE_HOME is ignored', () => {
    expect(logRoot({XDG_STATE_HOME: '/s'}, 1000, '/home/u')).toBe('/s/ctr/logs')
    expect(logRoot({}, 1000, '/home/u')).toBe('/home/u/.local/state/ctr/logs')
    expect(logRoot({XDG_STATE_HOME: 'state'}, 1000, '/home/u')).toBe('/home/u/.local/state/ctr/logs')
  })
})

describe('defaultLogPath', () => {
  it('is <root>/<namespace>/<id>.log', () => {
    expect(defaultLogPath('/r', 'default', 'web.1')).toBe('/r/default/web.1.log')
  })
  it('refuses a namespace or ID that would leave the root', () => {
    expect(() => defaultLogPath('/r', '..', 'web')).toThrow(/invalid namespace/)
    expect(() => defaultLogPath('/r', 'default', '../x')).toThrow(/invalid container ID/)
  })
})

describe('logStdio', () => {
  it('gives stdout and stderr the same file:// URI (percent-encoded), no stdin', () => {
    expect(logStdio('/var/log/a b.log')).toEqual({stdin: '', stdout: 'file:///var/log/a%20b.log', stderr: 'file:///var/log/a%20b.log'})
  })
})

describe('prepareLog', () => {
  it('creates the default directory and an empty 0600 file; discard removes what it created', async () => {
    const root = join(dir, 'root')
    const log = await prepareLog('ns', 'web', {root})
    expect(log.path).toBe(join(root, 'ns', 'web.log'))
    expect(((await stat(log.path)).mode & 0o777).toString(8)).toBe('600')
    expect(log.stdio.stdout).toBe(`file://${log.path}`)
    await log.discard()
    await expect(stat(log.path)).rejects.toThrow(/ENOENT/)
  })
  it('appends to an existing file and never removes it on discard', async () => {
    const path = join(dir, 'kept.log')
    await writeFile(path, 'old\n')
    const log = await prepareLog('ns', 'x', {path})
    await log.discard()
    expect(await readFile(path, 'utf8')).toBe('old\n')
  })
  it('refuses a directory that does not exist, and creates nothing', async () => {
    await expect(prepareLog('ns', 'x', {path: join(dir, 'missing', 'x.log')})).rejects.toThrow(`log directory ${join(dir, 'missing')} does not exist`)
    await expect(stat(join(dir, 'missing'))).rejects.toThrow(/ENOENT/)
  })
  it('refuses a path that is a directory', async () => {
    await expect(prepareLog('ns', 'x', {path: dir})).rejects.toThrow(/is not a regular file/)
  })
})

describe('removeLog', () => {
  it('removes the labelled file; a missing one or no label is fine', async () => {
    const path = join(dir, 'gone.log')
    await writeFile(path, 'x')
    expect(await removeLog({[LOG_LABEL]: path})).toBe(path)
    await expect(stat(path)).rejects.toThrow(/ENOENT/)
    expect(await removeLog({[LOG_LABEL]: path})).toBe(path)
    expect(await removeLog({})).toBeUndefined()
  })
})
