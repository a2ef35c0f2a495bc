/**
 * docs/commands.md, the command reference README.md links to (between <!-- usage --> and <!-- usagestop -->), is what the built commands
 * print for --help: regenerate with `npm run build && npm run readme` when this fails.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli} from '../helpers/run-cli'

const ROOT = join(__dirname, '..', '..')
const SCRIPT = join(ROOT, 'scripts', 'readme.mjs')
const REFERENCE = join(ROOT, 'docs', 'commands.md')
let tmp: string

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-readme-'))
})
afterAll(async () => {
  await rm(tmp, {recursive: true, force: true})
})

async function check(readme?: string): Promise<{code: number; stderr: string}> {
  const args = [SCRIPT, '--check', ...(readme ? ['--readme', readme] : [])]
  return promisify(execFile)(process.execPath, args, {cwd: ROOT}).then(
    ({stderr}) => ({code: 0, stderr}),
    (error: {code: number; stderr: string}) => ({code: error.code, stderr: error.stderr}),
  )
}

describe('the command reference (docs/commands.md)', () => {
  it('is in sync with the commands (npm run build && npm run readme)', async () => {
    const result = await check()
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })

  it("holds every command's --help", async () => {
    const readme = await readFile(REFERENCE, 'utf8')
    for (const args of [['containers', 'start'], ['events'], ['checkpoints', 'create']]) {
      expect(readme).toContain(`### ctr ${args.join(' ')}\n`)
      const help = await runCli([...args, '--help'], {env: {OCLIF_COLUMNS: '100', NO_COLOR: '1'}})
      const example = help.stdout.split('\n').find((line) => line.startsWith('  $ ctr '))!
      expect(readme).toContain(example)
    }
  })

  it('fails when a command is missing from it', async () => {
    const readme = await readFile(REFERENCE, 'utf8')
    const stale = join(tmp, 'commands.md')
    await writeFile(stale, readme.replace(/\n### ctr version\n[\s\S]*?```\n[\s\S]*?```\n/, '\n'))
    const result = await check(stale)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/out of date/)
    // And regenerating repairs it.
    await promisify(execFile)(process.execPath, [SCRIPT, '--readme', stale], {cwd: ROOT})
    expect(await readFile(stale, 'utf8')).toBe(readme)
  })
})

describe('README.md', () => {
  it('stays short (under 20 KB): reference and internals live in docs/', async () => {
    expect(Buffer.byteLength(await readFile(join(ROOT, 'README.md'), 'utf8'))).toBeLessThan(20 * 1024)
  })

  it('links every user page of docs/, and every link leads to a file that exists', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const links = [...readme.matchAll(/\]\((docs\/[^)#]*)/g)].map((m) => m[1])
    for (const page of ['docs/commands.md', 'docs/guide.md', 'docs/logs.md', 'docs/images.md', 'docs/go-ctr.md', 'docs/library.md', 'docs/performance.md']) {
      expect(links).toContain(page)
    }
    for (const link of links) await expect(stat(join(ROOT, link)), link).resolves.toBeTruthy()
  })
})
