import {randomBytes} from 'node:crypto'
import {mkdtemp, open, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {readLog, tailStart} from '../../../src/lib/logs/read'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctr-logs-read-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** A text's lines with their newlines; a last line without one is a line (as GNU tail counts). */
const LINES = /[^\n]*\n|[^\n]+$/g

/** What GNU `tail -n` prints, by splitting the whole text. */
function reference(text: string, n: number): string {
  return n <= 0 ? '' : (text.match(LINES) ?? []).slice(-n).join('')
}

describe('tailStart', () => {
  const contents: Record<string, string> = {
    empty: '',
    'one newline': '\n',
    'no newline at all': 'abc',
    'a final newline': 'a\nb\nc\n',
    'no final newline': 'a\nb\nc',
    'only newlines': '\n\n\n\n',
    'empty lines between': 'a\n\n\nb\n\n',
    'CRLF (the \\r stays)': 'one\r\ntwo\r\nthree\r\n',
    'a line longer than the block': 'short\n' + 'x'.repeat(50) + '\nend\n' + 'y'.repeat(40),
  }
  for (const [name, text] of Object.entries(contents)) {
    it(`${name}: every N at every block size (newlines on and beside every block edge)`, async () => {
      const path = join(dir, 'scan.log')
      await writeFile(path, text)
      const handle = await open(path, 'r')
      try {
        const lineCount = (text.match(LINES) ?? []).length
        for (let blockSize = 1; blockSize <= text.length + 1; blockSize++) {
          for (let n = 0; n <= lineCount + 2; n++) {
            const start = await tailStart(handle, text.length, n, {blockSize})
            expect(text.slice(start), `N=${n} block=${blockSize}`).toBe(reference(text, n))
          }
        }
      } finally {
        await handle.close()
      }
    })
  }

  it('reads block by block, never more than a block at a time, and stops once the lines are found', async () => {
    const path = join(dir, 'blocks.log')
    const text = 'first\n' + 'z'.repeat(100_000) + '\n' + 'last'
    await writeFile(path, text)
    const handle = await open(path, 'r')
    const reads: number[] = []
    const read = handle.read.bind(handle)
    handle.read = ((buffer: Buffer, offset: number, length: number, position: number) => {
      reads.push(length)
      return read(buffer, offset, length, position)
    }) as typeof handle.read
    try {
      expect(await tailStart(handle, text.length, 2, {blockSize: 4096})).toBe('first\n'.length)
      expect(Math.max(...reads)).toBeLessThanOrEqual(4096)
      expect(reads.length).toBe(Math.ceil((text.length - 'first\n'.length) / 4096))
    } finally {
      await handle.close()
    }
  })

  it('an aborted signal stops the scan', async () => {
    const path = join(dir, 'abort-scan.log')
    await writeFile(path, 'a\n'.repeat(1000))
    const handle = await open(path, 'r')
    try {
      await expect(tailStart(handle, 2000, 5, {signal: AbortSignal.abort(new Error('stopped'))})).rejects.toThrow('stopped')
    } finally {
      await handle.close()
    }
  })

  it('looks only at the first `size` bytes (what was there when the read began)', async () => {
    const path = join(dir, 'grown.log')
    await writeFile(path, 'a\nb\nc\nappended later\n')
    const handle = await open(path, 'r')
    try {
      expect(await tailStart(handle, 'a\nb\nc\n'.length, 2)).toBe(2)
    } finally {
      await handle.close()
    }
  })
})

describe('readLog', () => {
  const collect = () => {
    const chunks: Buffer[] = []
    return {write: async (c: Buffer) => void chunks.push(Buffer.from(c)), text: () => Buffer.concat(chunks).toString()}
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
  it('a log of many blocks arrives whole and in order (each chunk is lent: the caller copies it)', async () => {
    const path = join(dir, 'blocks-copy.log')
    const content = randomBytes(5 * 64 * 1024 + 123)
    await writeFile(path, content)
    const chunks: Buffer[] = []
    await readLog(path, {write: async (c) => void chunks.push(Buffer.from(c))})
    expect(chunks.length).toBe(6)
    expect(Buffer.concat(chunks).equals(content)).toBe(true)
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
  it('--tail of a last line without a newline, then follow continues from the end offset', async () => {
    const path = join(dir, 'partial.log')
    await writeFile(path, 'a\nb\npart')
    const out = collect()
    let exit!: () => void
    const reading = readLog(path, {tail: 2, follow: {until: new Promise<void>((resolve) => (exit = resolve))}, write: out.write})
    await new Promise((r) => setTimeout(r, 100))
    await writeFile(path, 'ial\nc\n', {flag: 'a'})
    await new Promise((r) => setTimeout(r, 400))
    exit()
    await reading
    expect(out.text()).toBe('b\npartial\nc\n')
  })
  it('following ends when the file is deleted (containers delete)', async () => {
    const path = join(dir, 'deleted.log')
    await writeFile(path, 'x\n')
    const out = collect()
    const reading = readLog(path, {follow: {until: new Promise(() => undefined)}, write: out.write})
    await new Promise((r) => setTimeout(r, 100))
    await rm(path)
    await reading
    expect(out.text()).toBe('x\n')
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
