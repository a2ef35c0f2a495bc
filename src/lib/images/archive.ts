/**
 * Reading an image archive as a stream, once, front to back: plain or gzip-compressed tar (told apart by
 * its first bytes, not its name, so `-` works), entries handed out one at a time with their data as an
 * async iterable, so a layer is never held in memory (tar-stream back-pressures the input while an entry
 * is being consumed). Errors name the archive and say what is wrong with it: not a tar, truncated, corrupt
 * gzip, or a compression this cannot read.
 */
import {Readable} from 'node:stream'
import type * as TarStream from 'tar-stream'

import {CtrError} from '../containerd/errors'

/** An entry; `header` is the whole tar header (mode, owner, mtime, type, link name) for readers that need it. */
export type ArchiveEntry = (
  {kind: 'file'; name: string; size: number; data: AsyncIterable<Buffer>} | {kind: 'symlink'; name: string; target: string} | {kind: 'other'; name: string}
) & {header: TarStream.Header}

export type Compression = 'none' | 'gzip'

const MAGIC: Array<{name: string; bytes: number[]}> = [
  {name: 'gzip', bytes: [0x1f, 0x8b]},
  {name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd]},
  {name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]},
  {name: 'bzip2', bytes: [0x42, 0x5a, 0x68]},
]

/** What the first bytes of a stream say it is compressed with ('none' when no known magic). */
export function detectCompression(head: Uint8Array): string {
  for (const {name, bytes} of MAGIC) if (head.length >= bytes.length && bytes.every((b, i) => head[i] === b)) return name
  return 'none'
}

const invalid = (label: string, why: string) => new CtrError('usage', `${label} ${why}`)

/**
 * Reads up to `n` bytes from the start of a stream and puts them back (unshift), without consuming it.
 * `ended`: the stream had no more than that (it cannot be unshifted onto then: `head` is all there is).
 */
async function peek(input: Readable, n: number): Promise<{head: Buffer; ended: boolean}> {
  let ended = false
  const chunks: Buffer[] = []
  let length = 0
  // The caller keeps an 'error' listener on input for its whole life (errors are emitted a tick late).
  {
    while (length < n && !input.errored) {
      const chunk = input.read() as Buffer | null
      if (chunk !== null) {
        chunks.push(chunk)
        length += chunk.length
        continue
      }
      if (input.readableEnded || input.destroyed) {
        ended = true
        break
      }
      ended = await new Promise<boolean>((resolve) => {
        const done = (value: boolean) => () => {
          input.off('readable', onReadable)
          input.off('end', onEnd)
          input.off('error', onFail)
          resolve(value)
        }
        const onReadable = done(false)
        const onEnd = done(true)
        const onFail = done(true)
        input.once('readable', onReadable)
        input.once('end', onEnd)
        input.once('error', onFail)
      })
      if (ended) break
    }
  }
  if (input.errored) throw input.errored
  const head = Buffer.concat(chunks)
  if (head.length > 0 && !ended) input.unshift(head)
  return {head, ended}
}

/**
 * The entries of the tar archive `input` (`label` names it in errors, e.g. `archive busybox.tar`);
 * `onRead` counts the bytes read from it (compressed, for progress). Each
 * file's data must be consumed (or the loop left) before the next entry comes; leaving the loop destroys
 * the input.
 */
export async function* readArchive(input: Readable, label: string, onRead?: (bytes: number) => void): AsyncGenerator<ArchiveEntry> {
  let sourceError: {error: unknown; where: 'input' | 'gzip'} | undefined
  // Loaded here, not with the bundle: only an import reads tar (node:zlib likewise, only for gzip).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const extract = (require('tar-stream') as typeof TarStream).extract()
  // The parser's own error ("Unexpected end of data"): an entry being read only sees "Stream was destroyed".
  let parseError: Error | undefined
  extract.on('error', (error: Error) => (parseError ??= error))
  const fail = (where: 'input' | 'gzip') => (error: unknown) => {
    sourceError ??= {error, where}
    extract.destroy(error as Error)
  }
  input.on('error', fail('input'))
  let head: Buffer
  let source = input
  try {
    const peeked = await peek(input, 8)
    head = peeked.head
    if (peeked.ended) source = Readable.from([head])
  } catch (error) {
    throw readError(label, error)
  }
  if (head.length === 0) throw invalid(label, 'is empty')
  const compression = detectCompression(head)
  if (compression !== 'none' && compression !== 'gzip') throw invalid(label, `is compressed with ${compression}, which ctr cannot read: decompress it first`)

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gunzip = compression === 'gzip' ? (require('node:zlib') as typeof import('node:zlib')).createGunzip() : undefined
  if (gunzip) {
    gunzip.on('error', fail('gzip'))
    source.pipe(gunzip).pipe(extract)
  } else {
    source.pipe(extract)
  }
  // Only now: a 'data' listener before the pipe would start the stream flowing past peek's unshift.
  if (onRead) source.on('data', (chunk: Buffer) => onRead(chunk.length))

  let entries = 0
  let current = ''
  const translate = (error: unknown): CtrError => {
    if (error instanceof CtrError) return error
    if (sourceError?.where === 'input') return readError(label, sourceError.error)
    if (sourceError?.where === 'gzip') return invalid(label, `is not valid gzip data (${(sourceError.error as Error).message})`)
    const message = (parseError ?? (error as Error))?.message ?? String(error)
    if (/Unexpected end of data|premature close/i.test(message)) {
      return entries === 0 ? invalid(label, 'is not a tar archive') : invalid(label, `is truncated${current ? ` (it ends inside ${current})` : ''}`)
    }
    if (/Invalid tar header|Header exceeds max size|Invalid header/i.test(message)) {
      return entries === 0 ? invalid(label, 'is not a tar archive') : invalid(label, `is corrupt after ${entries} entries (${message})`)
    }
    return invalid(label, `could not be read: ${message}`)
  }
  try {
    for await (const entry of extract) {
      entries++
      const {header} = entry
      current = header.name
      const name = header.name
      if (header.type === 'file' || header.type === 'contiguous-file') {
        // Breaking out of an entry's data destroys the whole extract (tar-stream): the consumer reads it to
        // the end or not at all, and what it does not read is skipped here.
        let finished = false
        async function* data(): AsyncGenerator<Buffer> {
          try {
            for await (const chunk of entry as AsyncIterable<Buffer>) yield chunk
          } catch (error) {
            throw translate(error)
          }
          finished = true
        }
        const chunks = data()
        yield {kind: 'file', name, size: header.size ?? 0, data: chunks, header}
        if (!finished) for await (const _ of chunks);
        current = ''
        continue
      } else if (header.type === 'symlink') {
        entry.resume()
        yield {kind: 'symlink', name, target: header.linkname ?? '', header}
      } else {
        entry.resume()
        yield {kind: 'other', name, header}
      }
      current = ''
    }
    // The parser's end-of-input check (_final) can fail after the entries have run out: wait for it.
    if (!extract.destroyed) await new Promise((resolve) => extract.once('close', () => resolve(undefined)))
    if (parseError || sourceError) throw translate(parseError ?? sourceError?.error)
  } catch (error) {
    throw translate(error)
  } finally {
    source.unpipe()
    gunzip?.destroy()
    extract.destroy()
    input.destroy()
  }
}

function readError(label: string, error: unknown): CtrError {
  if (error instanceof CtrError) return error
  const code = (error as NodeJS.ErrnoException)?.code
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'EACCES'
          ? 'permission denied'
          : ((error as Error)?.message ?? String(error))
  return new CtrError('usage', `cannot read ${label}: ${reason}`, {cause: error})
}
