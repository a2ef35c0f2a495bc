/**
 * The process spec of an exec: the container's own `process` (capabilities, rlimits, apparmor, PATH...) with
 * the user's overrides, as Go ctr's `tasks exec` builds it. Pure, so every rule is unit-tested.
 */
import {randomHex} from '../random-id'
import {posix} from 'node:path'

import {optionError, usageError} from '../containerd/errors'
import {isIdentifier, MAX_IDENTIFIER_LENGTH} from '../containerd/identifiers'

/** The parts of an OCI runtime-spec `process` this module reads or writes; the rest passes through. */
export interface OciProcess {
  terminal?: boolean
  user?: {uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string}
  args?: string[]
  env?: string[]
  cwd?: string
  [key: string]: unknown
}

export interface ExecOverrides {
  /** The command and its arguments (required). */
  args: readonly string[]
  cwd?: string
  /** `KEY=VALUE` entries: replace the container's entry of the same key, else are appended. */
  env?: readonly string[]
  uid?: number
  gid?: number
  terminal?: boolean
  /** Initial terminal size (with terminal): runc sets it before the process starts, so it never sees 0x0. */
  consoleSize?: {width: number; height: number}
}

/** `exec-` and 12 random hex digits: unique enough to run many execs in one container without a name. */
export function newExecId(): string {
  return `exec-${randomHex(6)}`
}

export function checkExecId(execId: string): void {
  // Exec IDs follow containerd's identifier rule too.
  if (!isIdentifier(execId)) {
    throw optionError(
      'usage',
      (o) => `invalid ${o('execId')} "${execId}": use 1-${MAX_IDENTIFIER_LENGTH} letters and digits, separated by single '.', '_' or '-'`,
    )
  }
}

/**
 * Checks the environment entries. A bad entry is named by its position, never by its text: it may hold a secret
 * (`-e TOKEN` where `-e TOKEN=...` was meant).
 */
export function checkEnv(env: readonly string[]): void {
  env.forEach((entry, index) => {
    const eq = entry.indexOf('=')
    if (eq <= 0) throw optionError('usage', (o) => `invalid ${o('env')} entry #${index + 1}: expected KEY=VALUE with a non-empty KEY`)
    if (entry.includes('\0')) throw optionError('usage', (o) => `invalid ${o('env')} entry #${index + 1}: contains a NUL byte`)
  })
}

export function checkId(name: 'uid' | 'gid', value: number | undefined): void {
  if (value === undefined) return
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw optionError('usage', (o) => `invalid ${o(name)} ${value}: must be a non-negative integer`)
}

/** Validates the overrides; called before anything is sent to containerd. */
export function checkOverrides(overrides: ExecOverrides): void {
  if (overrides.args.length === 0 || overrides.args[0] === '') {
    throw usageError('missing command: give the program to run and its arguments')
  }
  // runc rejects a relative cwd only when the process starts, with a less helpful message.
  if (overrides.cwd !== undefined && !posix.isAbsolute(overrides.cwd)) {
    throw optionError('usage', (o) => `invalid ${o('cwd')} "${overrides.cwd}": must be an absolute path inside the container`)
  }
  checkEnv(overrides.env ?? [])
  checkId('uid', overrides.uid)
  checkId('gid', overrides.gid)
}

/** The container's `process` with the overrides applied; the input is not modified. */
export function deriveProcessSpec(containerProcess: OciProcess | undefined, overrides: ExecOverrides): OciProcess {
  checkOverrides(overrides)
  const base: OciProcess = structuredClone(containerProcess ?? {})
  const process: OciProcess = {...base, args: [...overrides.args], terminal: Boolean(overrides.terminal)}
  // The container's console size belongs to its own terminal, not to this exec's.
  delete process.consoleSize
  if (overrides.terminal && overrides.consoleSize?.width && overrides.consoleSize.height) {
    process.consoleSize = {width: overrides.consoleSize.width, height: overrides.consoleSize.height}
  }
  if (overrides.cwd !== undefined) process.cwd = overrides.cwd
  if (!process.cwd) process.cwd = '/'
  process.env = mergeEnv(base.env ?? [], overrides.env ?? [])
  if (overrides.uid !== undefined || overrides.gid !== undefined) {
    // The container's supplementary groups and user name belong to its own user, not to the one asked for.
    const {additionalGids: _groups, username: _name, ...user} = base.user ?? {uid: 0, gid: 0}
    process.user = {...user, uid: overrides.uid ?? user.uid, gid: overrides.gid ?? user.gid}
  } else if (!process.user) {
    process.user = {uid: 0, gid: 0}
  }
  return process
}

/** Entries of `overrides` replace same-named entries of `base` in place; new keys are appended in order. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const keyOf = (entry: string) => {
    const eq = entry.indexOf('=')
    return eq < 0 ? entry : entry.slice(0, eq)
  }
  const result = [...base]
  for (const entry of overrides) {
    const index = result.findIndex((existing) => keyOf(existing) === keyOf(entry))
    if (index >= 0) result[index] = entry
    else result.push(entry)
  }
  return result
}
