import {spawn, spawnSync} from 'node:child_process'
import {chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  defaultLogPath,
  knownLog,
  LOG_LABEL,
  LOGGER_SCRIPT,
  loggerStdio,
  logRoot,
  prepareLog,
  removeLog,
  SHELL_PATH,
  SYSTEM_LOG_DIR,
} from '../../../src/lib/logs/files'

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

describe('loggerStdio', () => {
  it('without a shell: the same binary:// URI for stdout and stderr, node as the path, one query key (the script) whose value is the config', () => {
    const config = {path: '/var/log/a b.log', record: '/r/ns/a.json', maxSize: 0, maxFiles: 1}
    const stdio = loggerStdio(config, '/usr/bin/node', null)
    expect(stdio.stdin).toBe('')
    expect(stdio.stderr).toBe(stdio.stdout)
    const uri = new URL(stdio.stdout)
    expect(uri.protocol).toBe('binary:')
    expect(uri.pathname).toBe('/usr/bin/node')
    expect([...uri.searchParams]).toEqual([[LOGGER_SCRIPT, JSON.stringify(config)]])
  })

  it("with /bin/sh: the shell closes fd 5 (the shim's wait) before Node starts, then becomes the writer with the config intact", async () => {
    // Started as the 1.6 shim starts it: the URI's path, each query key and value as arguments, fd 3/4 the
    // task's stdout/stderr, fd 5 the pipe the shim reads to EOF before the task may go on.
    const path = join(dir, "it's here.log")
    await writeFile(path, '')
    const config = {path, record: join(dir, 'rec.json'), maxSize: 0, maxFiles: 1}
    const uri = new URL(loggerStdio(config).stdout)
    expect(uri.pathname).toBe(SHELL_PATH)
    const args = [...uri.searchParams].flat()
    const began = performance.now()
    const child = spawn(uri.pathname, args, {stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe', 'pipe']})
    const [out, err, wait] = (child.stdio as unknown as Array<Writable & Readable>).slice(3)
    wait.resume()
    await new Promise((resolve) => wait.on('end', resolve))
    const ready = performance.now() - began
    const nodeStart = performance.now()
    spawnSync(process.execPath, ['-e', '0'])
    // The shell is ready well before a Node process could be (each one's start-up measured here, under the same load).
    expect(ready).toBeLessThan(performance.now() - nodeStart)
    out.end('to stdout\n')
    err.end()
    const code = await new Promise((resolve) => child.on('exit', resolve))
    expect(code).toBe(0)
    expect(await readFile(path, 'utf8')).toBe('to stdout\n')
  })
})

describe('prepareLog', () => {
  it('creates the default directory (0700), an empty 0600 file and its record; discard removes both', async () => {
    const root = join(dir, 'root')
    const log = await prepareLog('ns', 'web', {root})
    expect(log.path).toBe(join(root, 'ns', 'web.log'))
    expect(((await stat(log.path)).mode & 0o777).toString(8)).toBe('600')
    expect(((await stat(join(root, 'ns'))).mode & 0o777).toString(8)).toBe('700')
    expect(JSON.parse(await readFile(join(root, 'ns', 'web.json'), 'utf8'))).toEqual({path: log.path, created: true, maxSize: 0, maxFiles: 1})
    await log.discard()
    await expect(stat(log.path)).rejects.toThrow(/ENOENT/)
    await expect(stat(join(root, 'ns', 'web.json'))).rejects.toThrow(/ENOENT/)
  })
  it('appends to an existing file, records it as not created (never rotated), and never removes it on discard', async () => {
    const path = join(dir, 'kept.log')
    await writeFile(path, 'old\n')
    const root = join(dir, 'root')
    const log = await prepareLog('ns', 'x', {path, root, maxSize: 100})
    expect(JSON.parse(await readFile(join(root, 'ns', 'x.json'), 'utf8'))).toMatchObject({path, created: false, maxSize: 0})
    await log.discard()
    expect(await readFile(path, 'utf8')).toBe('old\n')
  })
  it('refuses a directory that does not exist, and creates nothing', async () => {
    await expect(prepareLog('ns', 'x', {path: join(dir, 'missing', 'x.log'), root: join(dir, 'root')})).rejects.toThrow(
      `log directory ${join(dir, 'missing')} does not exist`,
    )
    await expect(stat(join(dir, 'missing'))).rejects.toThrow(/ENOENT/)
  })
  it('refuses a path that is a directory', async () => {
    await expect(prepareLog('ns', 'x', {path: join(dir, 'root'), root: join(dir, 'root')})).rejects.toThrow(/is a directory/)
  })
  it('refuses a symlink (never follows it), and a directory others can write', async () => {
    const target = join(dir, 'target')
    await writeFile(target, 'precious\n')
    await symlink(target, join(dir, 'link.log'))
    await expect(prepareLog('ns', 'x', {path: join(dir, 'link.log'), root: join(dir, 'root')})).rejects.toThrow(/symbolic link/)
    const open = join(dir, 'open')
    await mkdir(open, {mode: 0o777})
    await chmod(open, 0o777)
    await expect(prepareLog('ns', 'x', {path: join(open, 'a.log'), root: join(dir, 'root')})).rejects.toThrow(`${open} is writable by other users`)
    await expect(prepareLog('ns', 'x', {root: open})).rejects.toThrow(/writable by other users/)
    expect(await readFile(target, 'utf8')).toBe('precious\n')
  })
})

describe('knownLog and removeLog', () => {
  it('vouch only for what the record names: a label naming another file is neither read nor removed', async () => {
    const root = join(dir, 'r2')
    const victim = join(dir, 'victim')
    await writeFile(victim, 'x')
    expect(await knownLog('ns', 'c', {[LOG_LABEL]: victim}, root)).toMatch(/no record/)
    expect(await removeLog('ns', 'c', {[LOG_LABEL]: victim}, root)).toBeUndefined()
    const log = await prepareLog('ns', 'c', {root})
    expect(await knownLog('ns', 'c', {[LOG_LABEL]: victim}, root)).toMatch(/no record/)
    expect(await removeLog('ns', 'c', {[LOG_LABEL]: victim}, root)).toBeUndefined()
    expect(await readFile(victim, 'utf8')).toBe('x')
    expect(await knownLog('ns', 'c', {[LOG_LABEL]: log.path}, root)).toMatchObject({path: log.path, created: true, files: [log.path]})
    expect(await removeLog('ns', 'c', {[LOG_LABEL]: log.path}, root)).toBe(log.path)
    await expect(stat(log.path)).rejects.toThrow(/ENOENT/)
  })
  it('keep a file ctr did not create, and one another record still names', async () => {
    const root = join(dir, 'r3')
    const shared = join(dir, 'shared.log')
    const first = await prepareLog('ns', 'a', {root, path: shared})
    await prepareLog('ns', 'b', {root, path: shared})
    expect(await removeLog('ns', 'a', {[LOG_LABEL]: first.path}, root)).toBeUndefined()
    expect((await stat(shared)).isFile()).toBe(true)
    expect(await removeLog('ns', 'b', {[LOG_LABEL]: shared}, root)).toBeUndefined()
    expect((await stat(shared)).isFile()).toBe(true)
  })
})
