// Writes the command reference into docs/commands.md between <!-- usage --> and <!-- usagestop -->: every command's
// help exactly as `ctr <command> --help` prints it (description, usage, flags, aliases, examples), read from the
// built CLI through oclif's own metadata, so a new command appears without editing anything.
//   node scripts/readme.mjs          regenerate (npm run readme; needs npm run build first)
//   node scripts/readme.mjs --check  exit 1 if docs/commands.md is out of date (the test suite runs this)
//   --readme PATH                    another file than docs/commands.md (tests)
import {createRequire} from 'node:module'
import {readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const readmeFlag = process.argv.indexOf('--readme')
const README = readmeFlag > 0 ? process.argv[readmeFlag + 1] : join(ROOT, 'docs', 'commands.md')
const START = '<!-- usage -->'
const STOP = '<!-- usagestop -->'
const WIDTH = 100

// Help text must not depend on the terminal or the environment of whoever regenerates it.
process.env.OCLIF_COLUMNS = String(WIDTH)
process.env.NO_COLOR = '1'
delete process.env.FORCE_COLOR

const require = createRequire(import.meta.url)
const {Config, loadHelpClass} = require('@oclif/core')

export async function renderUsage() {
  const config = await Config.load(ROOT)
  const Help = await loadHelpClass(config)
  const help = new Help(config, {maxWidth: WIDTH, stripAnsi: true})
  // Aliases appear as commands of their own; each command once, by ID.
  const commands = config.commands.filter((c) => !c.hidden && !c.aliases.includes(c.id)).sort((a, b) => a.id.localeCompare(b.id))
  const title = (c) => `${config.bin} ${c.id.replaceAll(':', ' ')}`
  const anchor = (c) => title(c).replaceAll(' ', '-')
  const lines = []
  for (const c of commands) lines.push(`- [\`${title(c)}\`](#${anchor(c)}) — ${(c.summary ?? c.description ?? '').split('\n')[0]}`)
  // Every command has the same GLOBAL FLAGS section: printed once, here, and left out below.
  const globalSection = /\nGLOBAL FLAGS\n(?: {2}.*\n| {4,}.*\n)+/
  const texts = commands.map(
    (c) =>
      help
        .formatCommand(c)
        .replace(/[ \t]+$/gm, '')
        .trimEnd() + '\n',
  )
  const globals = texts.map((text) => globalSection.exec(text)?.[0]).find(Boolean)
  if (globals) lines.push('', 'Every command also takes the global flags:', '', '```', globals.trim(), '```')
  commands.forEach((c, i) => {
    lines.push('', `### ${title(c)}`, '', '```', texts[i].replace(globalSection, '').trimEnd(), '```')
  })
  return lines.join('\n')
}

export function spliceReadme(readme, usage) {
  const start = readme.indexOf(START)
  if (start < 0) throw new Error(`${README} has no ${START} marker`)
  const stop = readme.indexOf(STOP, start)
  if (stop < 0) throw new Error(`${README} has no ${STOP} marker after ${START}`)
  return `${readme.slice(0, start + START.length)}\n${usage}\n${readme.slice(stop)}`
}

const readme = readFileSync(README, 'utf8')
const updated = spliceReadme(readme, await renderUsage())
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    process.stderr.write(`${README}: the command reference is out of date: run \`npm run build && npm run readme\`\n`)
    process.exit(1)
  }
} else if (updated !== readme) {
  writeFileSync(README, updated)
  process.stderr.write(`${README}: command reference updated\n`)
}
