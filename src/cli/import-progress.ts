/**
 * What `ctr images import` shows while it works: one spinner line on stderr (a TTY only; never under
 * --json or when piped, where nothing is drawn): bytes read of the archive (with the percentage when its
 * size is known), then each image's layers as they are unpacked.
 */
import type {ImportProgress} from '../lib/images/import'
import {formatSize} from '../lib/images/store'

export interface ImportDisplay {
  update(event: ImportProgress): void
  stop(): void
}

const silent: ImportDisplay = {update() {}, stop() {}}

export function importDisplay(options: {json?: boolean; stream?: NodeJS.WriteStream} = {}): ImportDisplay {
  const stream = options.stream ?? process.stderr
  if (options.json || !stream.isTTY || process.env.CI) return silent
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ora = require('ora') as (options: object) => {text: string; start(): unknown; stop(): unknown}
  const spinner = ora({text: 'reading the archive', stream, isEnabled: true, discardStdin: false})
  spinner.start()
  return {
    update(event) {
      spinner.text = importText(event)
    },
    stop() {
      spinner.stop()
    },
  }
}

export function importText(event: ImportProgress): string {
  if (event.phase === 'read') {
    const read = formatSize(event.bytes)
    if (!event.total) return `reading the archive: ${read}`
    return `reading the archive: ${read} of ${formatSize(event.total)} (${Math.floor((event.bytes / event.total) * 100)}%)`
  }
  return `unpacking ${event.image}: layer ${Math.min(event.layer + 1, event.layers)} of ${event.layers}`
}
