/**
 * Reads a running child's output line by line as it arrives, for tests of commands that never end by
 * themselves (`ctr events`, `ctr containers stats`): wait for a matching line with a deadline, while the child
 * is still running.
 */
import type {Readable} from 'node:stream'

export class LineReader {
  readonly lines: string[] = []
  private partial = ''
  private waiters: Array<() => void> = []
  private ended = false

  constructor(stream: Readable) {
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n')
      this.partial = parts.pop() ?? ''
      this.lines.push(...parts)
      this.wake()
    })
    stream.on('end', () => {
      this.ended = true
      this.wake()
    })
  }

  get text(): string {
    return this.lines.join('\n') + (this.partial ? '\n' + this.partial : '')
  }

  /** The first line (from index `from`) matching, or a rejection after timeoutMs naming what was seen. */
  async waitFor(match: RegExp | ((line: string) => boolean), timeoutMs = 10_000, from = 0): Promise<string> {
    const test = typeof match === 'function' ? match : (line: string) => match.test(line)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.lines.slice(from).find(test)
      if (found !== undefined) return found
      if (this.ended) throw new Error(`output ended without a line matching ${match}; got:\n${this.text}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no line matching ${match} within ${timeoutMs} ms; got:\n${this.text}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}

/** Resolves with the child's exit code and signal (at once if it already exited). */
export function exited(child: import('node:child_process').ChildProcess, timeoutMs = 10_000): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({code: child.exitCode, signal: child.signalCode})
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`))
    }, timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal})
    })
  })
}
