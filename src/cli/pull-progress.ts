/**
 * What `ctr images pull` and `push` show on stderr: on a TTY, one line per blob (kind, short digest, bytes
 * of size, rate, state), redrawn at most every 100 ms; otherwise (a pipe, a log) one summary line at the
 * end; under --json nothing.
 */
import {formatSize} from '../lib/images/store'

export interface BlobEvent {
  digest: string
  kind: string
  size: number
  bytes: number
  state: string
}

export interface TransferDisplay {
  blob(event: BlobEvent): void
  note(text: string): void
  /** Clears the live lines; prints the summary when not on a TTY (and not --json). */
  stop(summary?: string): void
}

export function transferDisplay(options: {json?: boolean; stream?: NodeJS.WriteStream} = {}): TransferDisplay {
  const stream = options.stream ?? process.stderr
  if (options.json) return {blob() {}, note() {}, stop() {}}
  const tty = Boolean(stream.isTTY) && !process.env.CI
  if (!tty) return {blob() {}, note() {}, stop: (summary) => summary && stream.write(`${summary}\n`)}
  const blobs = new Map<string, BlobEvent & {started?: number}>()
  let note = ''
  let drawn = 0
  let last = 0
  let timer: NodeJS.Timeout | undefined
  const draw = () => {
    last = Date.now()
    const lines = [...blobs.values()].map((b) => {
      const seconds = b.started ? (Date.now() - b.started) / 1000 : 0
      const rate = b.state === 'downloading' && seconds > 0.2 ? ` ${formatSize(b.bytes / seconds)}/s` : ''
      return `${b.kind.padEnd(8)} ${b.digest.slice(7, 19)}  ${b.state.padEnd(11)} ${formatSize(b.bytes)} / ${formatSize(b.size)}${rate}`
    })
    if (note) lines.push(note)
    let out = drawn > 0 ? `\u001B[${drawn}A` : ''
    for (const line of lines) out += `\r\u001B[2K${line.slice(0, (stream.columns || 100) - 1)}\n`
    stream.write(out)
    drawn = lines.length
  }
  const schedule = () => {
    if (timer) return
    const wait = Math.max(0, 100 - (Date.now() - last))
    timer = setTimeout(() => {
      timer = undefined
      draw()
    }, wait)
  }
  return {
    blob(event) {
      const previous = blobs.get(event.digest)
      blobs.set(event.digest, {...event, started: previous?.started ?? (event.state === 'downloading' ? Date.now() : undefined)})
      schedule()
    },
    note(text) {
      note = text
      schedule()
    },
    stop(summary) {
      if (timer) clearTimeout(timer)
      timer = undefined
      draw()
      if (summary) stream.write(`${summary}\n`)
    },
  }
}
