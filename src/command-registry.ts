/**
 * Every command, by oclif ID. oclif's explicit strategy reads this map instead of scanning directories at
 * start-up; the build bundles it into dist/cli.js.
 */
import ContainersStats from './commands/containers/stats'
import Events from './commands/events'
import Version from './commands/version'

export const COMMANDS = {
  'containers:stats': ContainersStats,
  events: Events,
  version: Version,
}
