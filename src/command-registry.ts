/**
 * Every command, by oclif ID. oclif's explicit strategy reads this map instead of scanning directories at
 * start-up; the build bundles it into dist/cli.js.
 */
import Version from './commands/version'

export const COMMANDS = {
  version: Version,
}
