/**
 * The ssh program ctr runs: /usr/bin/ssh by absolute path (never one found through PATH: ctr runs as root), or
 * the command in CTR_SSH_COMMAND, as git's GIT_SSH_COMMAND replaces its ssh (`/usr/bin/ssh -F FILE -i KEY`).
 *
 * git hands GIT_SSH_COMMAND to `sh -c`, so the shell finds the program in PATH and expands what it likes. ctr
 * does neither: it splits the value into words itself, with a minimal splitter documented here, and its first
 * word must be an absolute path. The splitter knows white space between words, '...' (literal), "..." (where
 * a backslash escapes " \ $ and `), and a backslash outside quotes escaping the next character. Anything a
 * shell would expand or treat as an operator ($, `, ;, |, &, <, >, (, ), *, ?, [, a leading ~) is refused
 * unless quoted: ctr would not do what a shell does with it, so it says so instead of guessing.
 * Not shell-quote's parse (measured, 1.12): it accepts an unterminated quote or a trailing backslash and
 * passes backticks and a leading ~ through as text, so root would run another command than the user's shell.
 */
import {CtrError} from '../containerd/errors'

export const SSH_PROGRAM = '/usr/bin/ssh'
export const SSH_COMMAND_VARIABLE = 'CTR_SSH_COMMAND'

const SPECIAL = new Set(['$', '`', ';', '|', '&', '<', '>', '(', ')', '*', '?', '['])

const refuse = (why: string) => new CtrError('usage', `${SSH_COMMAND_VARIABLE}: ${why}`)

/** Splits a command line into words (see the module comment); throws a usage CtrError on what it does not handle. */
export function splitCommand(text: string): string[] {
  const words: string[] = []
  let word: string | undefined
  let quote: "'" | '"' | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i]
      else if (c === '$' || c === '`') throw refuse(`"${c}" inside double quotes is not expanded by ctr: quote it with '...'`)
      else word += c
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (word !== undefined) words.push(word)
      word = undefined
    } else if (c === "'" || c === '"') {
      quote = c
      word ??= ''
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw refuse('ends with a backslash')
      word = (word ?? '') + text[++i]
    } else if (SPECIAL.has(c) || (c === '~' && word === undefined)) {
      throw refuse(`"${c}" is not handled: ctr splits the command into words and runs no shell (quote it if it is meant literally)`)
    } else {
      word = (word ?? '') + c
    }
  }
  if (quote) throw refuse(`unterminated ${quote}`)
  if (word !== undefined) words.push(word)
  return words
}

/** The program and its first arguments: CTR_SSH_COMMAND's words, or /usr/bin/ssh alone. */
export function sshCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const text = env[SSH_COMMAND_VARIABLE]
  if (text === undefined || text.trim() === '') return [SSH_PROGRAM]
  const words = splitCommand(text)
  if (!words[0].startsWith('/')) throw refuse(`the program "${words[0]}" must be an absolute path (ctr runs no program found through PATH)`)
  return words
}
