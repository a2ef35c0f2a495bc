import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {readLog, tailOffset, tailStart} from '../../../src/lib/logs/read'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-logs-read-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('tailOffset', () => {
  const buf = (text: string) => Buffer.from(text)
  it('finds where the last N lines begin; a final newline does not start a line', () => {
    expect(tailOffset(buf('a\nb\nc\n'), 2, true)).toBe(2)
    expect(tailOffset(buf('a\nb\nc'), 2, true)).toBe(2)
    expect(tailOffset(buf('a\nb\nc\n'), 1, true)).toBe(4)
  })
  it('asks for more when the chunk is not the whole file, else starts at 0', () => {
    expect(tailOffset(buf('b\nc\n'), 5, false)).toBeUndefined()
    expect(tailOffset(buf('b\nc\n'), 5, true)).toBe(0)
  })
  it('0 lines: nothing', () => {
    expect(tailOffset(buf('a\nb\n'), 0, true)).toBe(4)
  })
  it('empty lines count', () => {
    expect(tailOffset(buf('a\n\n\nb\n'), 2, true)).toBe(3)
  })
})

describe('tailStart', () => {
  it('reads backwards across blocks', async () => {
    const path = join(dir, 'tail.log')
    const lines = Array.from({length: 100}, (_, i) => `line ${i}`)
    await writeFile(path, lines.join('\n') + '\n')
    const {size} = await stat(path)
    const content = await readFile(path, 'utf8')
    for (const n of [1, 3, 50, 100, 1000]) {
      const start = await tailStart(path, n, size, 7)
      expect(content.slice(start)).toBe(lines.slice(-n).join('\n') + '\n')
    }
  })
})

describe('readLog', () => {
  const collect = () => {
    const chunks: Buffer[] = []
    return {write: async (c: Buffer) => void chunks.push(c), text: () => Buffer.concat(chunks).toString()}
  }
  it('prints all, or the tail', async () => {
    const path = join(dir, 'read.log')
    await writeFile(path, 'a\nb\nc\n')
    const all = collect()
    await readLog(path, {write: all.write})
    expect(all.text()).toBe('a\nb\nc\n')
    const tail = collect()
    await readLog(path, {tail: 1, write: tail.write})
    expect(tail.text()).toBe('c\n')
  })
  it('follows appends until `until` settles, then drains what is still written', async () => {
    const path = join(dir, 'follow.log')
    await writeFile(path, 'one\n')
    const out = collect()
    let exit!: () => void
    const until = new Promise<void>((resolve) => (exit = resolve))
    const reading = readLog(path, {follow: {until}, write: out.write})
    await new Promise((r) => setTimeout(r, 100))
    await writeFile(path, 'two\n', {flag: 'a'})
    exit()
    await writeFile(path, 'three\n', {flag: 'a'}) // after the exit: still printed
    await reading
    expect(out.text()).toBe('one\ntwo\nthree\n')
  })
  it('--tail with --follow: the last lines, then what is appended', async () => {
    const path = join(dir, 'tail-follow.log')
    await writeFile(path, 'a\nb\nc\n')
    const out = collect()
    let exit!: () => void
    const reading = readLog(path, {tail: 1, follow: {until: new Promise<void>((resolve) => (exit = resolve))}, write: out.write})
    await new Promise((r) => setTimeout(r, 100))
    await writeFile(path, 'd\n', {flag: 'a'})
    await new Promise((r) => setTimeout(r, 400))
    exit()
    await reading
    expect(out.text()).toBe('c\nd\n')
  })
  it('stops at once when aborted', async () => {
    const path = join(dir, 'abort.log')
    await writeFile(path, 'x\n')
    const abort = new AbortController()
    const reading = readLog(path, {follow: {until: new Promise(() => undefined)}, write: async () => undefined, signal: abort.signal})
    setTimeout(() => abort.abort(new Error('stop')), 50)
    await expect(reading).rejects.toThrow('stop')
  })
})

