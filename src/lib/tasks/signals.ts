/**
 * Signal names and numbers as Linux (x86 and arm, the platforms containerd's runc shim runs on) defines
 * them. containerd takes a bare number on the wire, so names are resolved here, on the client, the way Go
 * ctr's signal.ParseSignal does: `9`, `KILL`, `SIGKILL`, `sigkill`, `SIGRTMIN+3`.
 */
import {usageError} from '../containerd/errors'

/** Standard signals; the real-time range is handled by RTMIN/RTMAX arithmetic below. */
const STANDARD: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
}

/** glibc reserves 32 and 33 for its threads, so SIGRTMIN as programs see it is 34. */
export const SIGRTMIN = 34
export const SIGRTMAX = 64
export const MAX_SIGNAL = 64

export const SIGTERM = STANDARD.TERM
export const SIGKILL = STANDARD.KILL

const HINT = 'use a number 1-64 or a name such as TERM, SIGKILL or RTMIN+1'

/** `9`, `KILL`, `SIGKILL`, `sigkill`, `RTMIN+2`, `SIGRTMAX-1` → the signal number; anything else is a usage error. */
export function parseSignal(text: string): number {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) {
    const number = Number(trimmed)
    if (number >= 1 && number <= MAX_SIGNAL) return number
    throw usageError(`invalid signal "${text}": out of range (${HINT})`)
  }
  const name = trimmed.toUpperCase().replace(/^SIG/, '')
  if (Object.hasOwn(STANDARD, name)) return STANDARD[name]
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name)
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '+' ? 1 : -1)
    const number = base + offset
    // RTMIN may only count up and RTMAX only down, and both must stay inside the real-time range.
    const direction = rt[1] === 'MIN' ? offset >= 0 : offset <= 0
    if (direction && number >= SIGRTMIN && number <= SIGRTMAX) return number
  }
  throw usageError(`invalid signal "${text}" (${HINT})`)
}

/** 9 → `SIGKILL`, 36 → `SIGRTMIN+2`; numbers without a name (32, 33) as `signal 32`. */
export function signalName(number: number): string {
  for (const [name, value] of Object.entries(STANDARD)) {
    // The first spelling listed is the canonical one (ABRT before IOT, CHLD before CLD).
    if (value === number) return `SIG${name}`
  }
  if (number === SIGRTMIN) return 'SIGRTMIN'
  if (number === SIGRTMAX) return 'SIGRTMAX'
  if (number > SIGRTMIN && number < SIGRTMAX) return `SIGRTMIN+${number - SIGRTMIN}`
  return `signal ${number}`
}

/** The shell convention for a process killed by signal N: exit status 128+N (137 for SIGKILL). */
export function exitCodeForSignal(number: number): number {
  return 128 + number
}
