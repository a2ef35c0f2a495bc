/**
 * The bundle's entry (scripts/build.mjs builds it into dist/cli.js): bin/run.js calls main, and oclif's
 * explicit command strategy reads COMMANDS (or, for one command's run, RUN_COMMANDS) from it. The code lives in src/cli/.
 */
export {COMMANDS} from './cli/command-registry'
export {main, normalizeArgv} from './cli/main'
export {RUN_COMMANDS} from './cli/run-commands'
