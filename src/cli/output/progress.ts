/**
 * What is drawn on stderr while a command works: a spinner (ora), a one-line bar, and the per-blob lines of
 * pull and push. Ux hands these out only when stderr is a person's terminal (ux.ts isInteractive);
 * otherwise the silent ones below, so nothing here checks the terminal again.
 */
import type {ImportProgress} from '../../lib/images/import'
import {formatBytes} from './bytes'
import {InPlaceBlock, type TerminalStream} from './live'

export interface Spinner {
  /** The line shown beside the spinner. */
  text: string
  succeed(text?: string): void
  fail(text?: string): void
  stop(): void
}

export interface ProgressBar {
  update(done: number, total: number): void
  /** Erases the bar. */
  stop(): void
}

export function silentSpinner(text: string): Spinner {
  return {text, succeed() {}, fail() {}, stop() {}}
}

export const silentBar: ProgressBar = {update() {}, stop() {}}

/** ora on `stream`, started (loaded on first use: most scripted runs never draw). */
export function oraSpinner(text: string, stream: TerminalStream): Spinner {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ora = require('ora') as (options: object) => Spinner & {start(): Spinner}
  return ora({text, stream, isEnabled: true, discardStdin: false}).start()
}

const BAR_WIDTH = 30

/** `label [#####.....] 3/10`, redrawn at most every 50 ms so a fast run does not spend its time drawing. */
export function progressBar(label: string, stream: TerminalStream): ProgressBar {
  let last = 0
  let drawn = false
  return {
    update(done, total) {
      const now = Date.now()
      if (done < total && now - last < 50) return
      last = now
      const filled = Math.round((done / total) * BAR_WIDTH)
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total}`)
      drawn = true
    },
    stop() {
      if (drawn) stream.write('\r\u001B[2K')
      drawn = false
    },
  }
}

export interface BlobEvent {
  digest: string
  kind: string
  size: number
  bytes: number
  state: string
}

/** Pull's and push's display: one line per blob (kind, short digest, state, bytes of size, rate), then a note. */
export interface TransferDisplay {
  blob(event: BlobEvent): void
  note(text: string): void
  /** Leaves the last lines drawn (on a terminal) and writes the summary line. */
  stop(summary?: string): void
}

/** Off a terminal: only the summary, at the end. */
export function summaryOnly(stream: TerminalStream): TransferDisplay {
  return {blob() {}, note() {}, stop: (summary) => void (summary && stream.write(`${summary}\n`))}
}

export const silentTransfer: TransferDisplay = {blob() {}, note() {}, stop() {}}

/** On a terminal: the blobs' lines redrawn in place (InPlaceBlock), at most every 100 ms. */
export function transferLines(stream: TerminalStream): TransferDisplay {
  const block = new InPlaceBlock(stream)
  const blobs = new Map<string, BlobEvent & {started?: number}>()
  let note = ''
  let last = 0
  let timer: NodeJS.Timeout | undefined
  const draw = () => {
    last = Date.now()
    const lines = [...blobs.values()].map((b) => {
      const seconds = b.started ? (Date.now() - b.started) / 1000 : 0
      const rate = b.state === 'downloading' && seconds > 0.2 ? ` ${formatBytes(b.bytes / seconds)}/s` : ''
      return `${b.kind.padEnd(8)} ${b.digest.slice(7, 19)}  ${b.state.padEnd(11)} ${formatBytes(b.bytes)} / ${formatBytes(b.size)}${rate}`
    })
    if (note) lines.push(note)
    block.render(lines)
  }
  const schedule = () => {
    if (timer) return
    timer = setTimeout(
      () => {
        timer = undefined
        draw()
      },
      Math.max(0, 100 - (Date.now() - last)),
    )
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

/** `ctr images import`'s spinner line: bytes read of the archive (with the share when its size is known), then each image's layers. */
export function importText(event: ImportProgress): string {
  if (event.phase === 'read') {
    const read = formatBytes(event.bytes)
    if (!event.total) return `reading the archive: ${read}`
    return `reading the archive: ${read} of ${formatBytes(event.total)} (${Math.floor((event.bytes / event.total) * 100)}%)`
  }
  return `unpacking ${event.image}: layer ${Math.min(event.layer + 1, event.layers)} of ${event.layers}`
}
