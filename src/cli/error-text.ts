/**
 * How an error reads on ctr's stderr: library errors about options (optionError) name them as flags, from
 * the error's structure (`filter` → `--filter`); control characters are escaped (one line, no terminal
 * escapes). The one place CLI code turns an error into text.
 */
import {CtrError, type OptionNamer} from '../lib/containerd/errors'
import {escapeText} from './output/escape'

/** A library option's flag: `execId` → `--exec-id`. */
export const flagName: OptionNamer = (option) => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

export function errorText(error: unknown): string {
  const message = error instanceof CtrError && error.render ? error.render(flagName) : error instanceof Error ? error.message : String(error)
  return escapeText(message)
}
