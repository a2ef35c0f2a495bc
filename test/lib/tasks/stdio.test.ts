import {execFileSync} from 'node:child_process'
import {closeSync, constants, openSync, readSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readdir, rm, stat, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ownerToken} from '../../../src/lib/owner'
import {createFifos, removeDeadFifoDirs} from '../../../src/lib/tasks/stdio'

describe('createFifos', () => {
  let parent: string
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'ctr-stdio-test-'))
  })
  afterAll(async () => {
    await rm(parent, {recursive: true, force: true})
  })

  it('makes three FIFOs in a private 0700 directory, with our ends open, and removes them on close', async () => {
    const fifos = await createFifos({name: 'web', parentDir: parent})
    expect((await stat(fifos.dir)).mode & 0o777).toBe(0o700)
    expect(fifos.dir.startsWith(join(parent, 'ctr-io-'))).toBe(true)
    expect(fifos.paths).toEqual({stdin: join(fifos.dir, 'web-stdin'), stdout: join(fifos.dir, 'web-stdout'), stderr: join(fifos.dir, 'web-stderr')})
    for (const path of Object.values(fifos.paths)) expect((await stat(path)).isFIFO()).toBe(true)
    await fifos.close()
    await fifos.close()
    expect(await readdir(parent)).toEqual([])
  })

  it('has no stderr FIFO with a terminal, no stdin FIFO when not asked', async () => {
    const fifos = await createFifos({name: 'web', parentDir: parent, terminal: true, stdin: false})
    expect(fifos.paths.stderr).toBe('')
    expect(fifos.paths.stdin).toBe('')
    expect(fifos.stderr).toBeUndefined()
    expect(fifos.stdin).toBeUndefined()
    await fifos.close()
  })

  it('delivers what a writer writes and reports EOF when the writer closes (no early EOF before it opens)', async () => {
    const fifos = await createFifos({name: 'p', parentDir: parent, terminal: true})
    let text = ''
    fifos.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(fifos.stdout.destroyed).toBe(false)
    // A shell writes, as the shim would, from another process.
    execFileSync('sh', ['-c', `printf 'hello\\n' > '${fifos.paths.stdout}'`])
    await fifos.outputClosed
    expect(text).toBe('hello\n')
    await fifos.close()
  })

  it('passes our stdin writes to a reader', async () => {
    const fifos = await createFifos({name: 'i', parentDir: parent, terminal: true})
    const reader = openSync(fifos.paths.stdin, constants.O_RDONLY | constants.O_NONBLOCK)
    await new Promise<void>((resolve) => fifos.stdin!.write('abc', () => resolve()))
    const buffer = Buffer.alloc(10)
    expect(buffer.subarray(0, readSync(reader, buffer)).toString()).toBe('abc')
    closeSync(reader)
    await fifos.close()
  })
})

describe('removeDeadFifoDirs', () => {
  it("removes only a dead ctr's private directories: not a live one's, not a symlink, not one others could write, not other names", async () => {
    const parent = await mkdtemp(join(tmpdir(), 'ctr-stdio-sweep-'))
    try {
      const [ns, pid, start] = ownerToken().split('.')
      const dead = `ctr-io-${ns}.${pid}.${Number(start) + 1}-`
      await mkdir(join(parent, `${dead}aaaaaa`), {mode: 0o700})
      await mkdir(join(parent, `${dead}aaaaaa`, 'x'))
      await mkdir(join(parent, `${dead}bbbbbb`), {mode: 0o700})
      await chmod(join(parent, `${dead}bbbbbb`), 0o755)
      const target = await mkdtemp(join(tmpdir(), 'ctr-stdio-target-'))
      await chmod(target, 0o700)
      await symlink(target, join(parent, `${dead}cccccc`))
      await mkdir(join(parent, `ctr-io-${ownerToken()}-dddddd`), {mode: 0o700})
      await mkdir(join(parent, 'ctr-io-eeeeee'), {mode: 0o700})
      expect(await removeDeadFifoDirs(parent)).toEqual([join(parent, `${dead}aaaaaa`)])
      expect((await readdir(parent)).sort()).toEqual([`${dead}bbbbbb`, `${dead}cccccc`, `ctr-io-${ownerToken()}-dddddd`, 'ctr-io-eeeeee'].sort())
      expect((await stat(target)).isDirectory()).toBe(true)
      await rm(target, {recursive: true})
    } finally {
      await rm(parent, {recursive: true, force: true})
    }
  })
})
