/**
 * Colour and spinners: decided once, from the stream and the environment. chalk does not honour NO_COLOR by
 * itself, so the level is computed here and given to one chalk instance.
 */
import type {ChalkInstance} from './chalk-types'

export interface StyleEnv {
  NO_COLOR?: string
  FORCE_COLOR?: string
  TERM?: string
}

/** 0 = no colour. NO_COLOR (any non-empty value) wins; FORCE_COLOR forces; otherwise only on a TTY. */
export function colorLevel(isTTY: boolean, env: StyleEnv = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0
  if (env.FORCE_COLOR !== undefined) {
    if (env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return 0
    const n = Number(env.FORCE_COLOR)
    return n === 2 || n === 3 ? n : 1
  }
  if (!isTTY || env.TERM === 'dumb') return 0
  return 1
}

let cached: {level: number; chalk: ChalkInstance} | undefined

/** A chalk instance at the given level (loaded on first use: most scripted runs never colour). */
export function chalkAt(level: number): ChalkInstance {
  if (cached?.level === level) return cached.chalk
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const chalk = require('chalk') as {Instance: new (options: {level: number}) => ChalkInstance}
  cached = {level, chalk: new chalk.Instance({level})}
  return cached.chalk
}

export interface Spinner {
  succeed(text?: string): void
  fail(text?: string): void
  stop(): void
}

const silentSpinner: Spinner = {succeed() {}, fail() {}, stop() {}}

/** A spinner on stderr, only when stderr is a TTY and output is not JSON; otherwise it does nothing. */
export function startSpinner(text: string, options: {json?: boolean; stream?: NodeJS.WriteStream} = {}): Spinner {
  const stream = options.stream ?? process.stderr
  if (options.json || !stream.isTTY || process.env.CI) return silentSpinner
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ora = require('ora') as (options: object) => Spinner & {start(): Spinner}
  return ora({text, stream, isEnabled: true, discardStdin: false}).start()
}
