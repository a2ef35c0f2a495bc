import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'

import * as tar from 'tar-stream'
import {describe, expect, it} from 'vitest'

import {type ArchiveEntry, detectCompression, readArchive} from '../../../src/lib/images/archive'

async function makeTar(files: Array<{name: string; data?: string | Buffer; type?: 'symlink' | 'directory'; linkname?: string}>): Promise<Buffer> {
  const pack = tar.pack()
  for (const f of files) {
    if (f.type) pack.entry({name: f.name, type: f.type, linkname: f.linkname})
    else pack.entry({name: f.name}, f.data ?? '')
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Reads every entry; file data concatenated, or skipped when `skip` names it. */
async function entries(input: Buffer | Readable, skip: string[] = []) {
  const out: Array<{kind: string; name: string; text?: string; target?: string}> = []
  const stream = Buffer.isBuffer(input) ? Readable.from([input]) : input
  for await (const e of readArchive(stream, 'archive t.tar') as AsyncGenerator<ArchiveEntry>) {
    if (e.kind === 'file') {
      if (skip.includes(e.name)) {
        out.push({kind: 'file', name: e.name})
        continue
      }
      const chunks: Buffer[] = []
      for await (const c of e.data) chunks.push(c)
      out.push({kind: 'file', name: e.name, text: Buffer.concat(chunks).toString()})
    } else if (e.kind === 'symlink') out.push({kind: 'symlink', name: e.name, target: e.target})
    else out.push({kind: e.kind, name: e.name})
  }
  return out
}

async function failure(input: Buffer): Promise<string> {
  try {
    await entries(input)
  } catch (error) {
    expect(error).toMatchObject({kind: 'usage', exitCode: 125})
    return (error as Error).message
  }
  throw new Error('no error')
}

describe('readArchive', () => {
  const files = [
    {name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}'},
    {name: 'blobs/', type: 'directory' as const},
    {name: 'blobs/sha256/ab', data: 'x'.repeat(100_000)},
    {name: 'link', type: 'symlink' as const, linkname: 'blobs/sha256/ab'},
    {name: 'index.json', data: '{}'},
  ]

  it('hands out files, symlinks and other entries in order, plain or gzip', async () => {
    const plain = await makeTar(files)
    const expected = [
      {kind: 'file', name: 'oci-layout', text: '{"imageLayoutVersion":"1.0.0"}'},
      {kind: 'other', name: 'blobs/'},
      {kind: 'file', name: 'blobs/sha256/ab', text: 'x'.repeat(100_000)},
      {kind: 'symlink', name: 'link', target: 'blobs/sha256/ab'},
      {kind: 'file', name: 'index.json', text: '{}'},
    ]
    expect(await entries(plain)).toEqual(expected)
    expect(await entries(gzipSync(plain))).toEqual(expected)
  })

  it('skips the data of a file the consumer does not read', async () => {
    const out = await entries(await makeTar(files), ['blobs/sha256/ab'])
    expect(out.map((e) => e.name)).toEqual(['oci-layout', 'blobs/', 'blobs/sha256/ab', 'link', 'index.json'])
    expect(out.at(-1)).toMatchObject({text: '{}'})
  })

  it('reads a stream in small chunks (stdin) without losing the first bytes it looked at', async () => {
    const plain = gzipSync(await makeTar(files))
    const pieces = Array.from({length: Math.ceil(plain.length / 3)}, (_, i) => plain.subarray(i * 3, i * 3 + 3))
    expect((await entries(Readable.from(pieces))).map((e) => e.name)).toHaveLength(5)
  })

  it('names what is wrong: empty, not tar, truncated, corrupt gzip, other compression', async () => {
    const tarBytes = await makeTar(files)
    expect(await failure(Buffer.alloc(0))).toBe('archive t.tar is empty')
    expect(await failure(Buffer.from('hello, this is not a tar archive\n'))).toBe('archive t.tar is not a tar archive')
    expect(await failure(Buffer.from('x'.repeat(4096)))).toBe('archive t.tar is not a tar archive')
    expect(await failure(tarBytes.subarray(0, 5000))).toBe('archive t.tar is truncated (it ends inside blobs/sha256/ab)')
    const gz = gzipSync(tarBytes)
    expect(await failure(gz.subarray(0, gz.length - 20))).toMatch(/^archive t.tar (is not valid gzip data|is truncated)/)
    expect(await failure(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]))).toBe('archive t.tar is compressed with zstd, which ctr cannot read: decompress it first')
  })

  it('a file shorter than the bytes looked at first is still read (and judged) whole', async () => {
    const {mkdtemp, writeFile, rm} = await import('node:fs/promises')
    const {createReadStream} = await import('node:fs')
    const {join} = await import('node:path')
    const {tmpdir} = await import('node:os')
    const dir = await mkdtemp(join(tmpdir(), 'ctr-archive-test-'))
    try {
      for (const text of ['hello\n', 'x']) {
        const path = join(dir, 'short.tar')
        await writeFile(path, text)
        await expect(entries(createReadStream(path))).rejects.toThrow(/^archive t.tar is not a tar archive$/)
      }
      await writeFile(join(dir, 'gz.tar'), gzipSync(await makeTar(files)))
      expect(await entries(createReadStream(join(dir, 'gz.tar')))).toHaveLength(5)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('a read error names the archive', async () => {
    const broken = new Readable({
      read() {
        this.destroy(Object.assign(new Error('EIO: i/o error'), {code: 'EIO'}))
      },
    })
    await expect(entries(broken)).rejects.toThrow(/^cannot read archive t.tar: EIO: i\/o error$/)
  })
})

describe('detectCompression', () => {
  it.each([
    [[0x1f, 0x8b, 8], 'gzip'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
    [[0x42, 0x5a, 0x68, 0x39], 'bzip2'],
    [[0x2e, 0x2f, 0x00], 'none'],
    [[], 'none'],
  ])('%j → %s', (bytes, name) => {
    expect(detectCompression(Uint8Array.from(bytes))).toBe(name)
  })
})
