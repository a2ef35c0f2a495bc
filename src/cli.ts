/**
 * The bundle's entry (scripts/build.mjs builds it into dist/cli.js): bin/run.js calls main, and oclif's
 * explicit command strategy reads COMMANDS from it. The code lives in src/cli/.
 */
export {COMMANDS} from './cli/command-registry'
export {main, normalizeArgv} from './cli/main'
