/**
 * A one-line progress bar on stderr, for a TTY only (never in a pipe, a log or under --json), redrawn at
 * most every 50 ms so a fast run does not spend its time drawing.
 */
export interface Progress {
  update(done: number, total: number): void
  /** Erases the bar. */
  stop(): void
}

const silent: Progress = {update() {}, stop() {}}
const WIDTH = 30

export function startProgress(label: string, options: {json?: boolean; stream?: NodeJS.WriteStream} = {}): Progress {
  const stream = options.stream ?? process.stderr
  if (options.json || !stream.isTTY || process.env.CI) return silent
  let last = 0
  let drawn = false
  return {
    update(done, total) {
      const now = Date.now()
      if (done < total && now - last < 50) return
      last = now
      const filled = Math.round((done / total) * WIDTH)
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${total}`)
      drawn = true
    },
    stop() {
      if (drawn) stream.write('\r\u001B[2K')
      drawn = false
    },
  }
}
