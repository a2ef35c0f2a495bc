/**
 * A yes/no question on the terminal (docker's `prune` habit): asked on stderr, answered on stdin; only `y`
 * or `yes` agree. Callers ask only when stdin is a terminal.
 */
import {createInterface} from 'node:readline'

export async function confirm(question: string, signal?: AbortSignal): Promise<boolean> {
  const rl = createInterface({input: process.stdin, output: process.stderr, terminal: true})
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(signal!.reason)
      signal?.addEventListener('abort', onAbort, {once: true})
      rl.once('close', () => resolve(''))
      rl.question(`${question} [y/N] `, (text) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(text)
      })
    })
    return /^\s*y(es)?\s*$/i.test(answer)
  } finally {
    rl.close()
  }
}
