/**
 * `ctr completion bash|zsh`: the generated bash script is sourced in a real bash and driven the way bash's
 * programmable completion drives it (COMP_WORDS, COMP_CWORD, then the -F function), against the built CLI
 * and the private containerd for container IDs. With zsh installed: its syntax, the shared logic, and real TAB
 * completion in an interactive zsh on a pty (zpty).
 */
import {execFile, execFileSync} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {CLI} from '../helpers/run-cli'
import {type Fixture, setupFixture} from './containers-fixture'

const run = promisify(execFile)

/** Starts an interactive zsh on a pty, types $3 and TAB, and prints what the terminal shows once $4 matches (or after 15 s). */
const ZPTY_DRIVER = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=($1 \\$fpath); autoload -U compinit; compinit -u -D; ctr() { $2 \\"\\$@\\" }"
zpty -w -n z "$3"$'\\t'
out=''
integer deadline=$(( SECONDS + 15 ))
while (( SECONDS < deadline )); do
  while zpty -rt z line; do out+=$line; done
  [[ \${out//$'\\r'/} =~ $4 ]] && break
  sleep 0.2
done
print -r -- "\${out//$'\\r'/}"
zpty -d z
`

let f: Fixture
let script: string

beforeAll(async () => {
  f = await setupFixture('completion')
  const generated = await f.cli(['completion', 'bash'])
  expect(generated.code, generated.stderr).toBe(0)
  script = join(f.cliTmp, '..', 'ctr.bash')
  await writeFile(script, generated.stdout)
  await f.run('comp-redis')
  await f.run('comp-web')
})

afterAll(async () => {
  await f?.cleanup()
})

/** What bash would offer for the words typed so far (the last one is the word being completed). */
async function complete(words: string[], env: Record<string, string> = {}): Promise<string[]> {
  const driver = `
    source ${JSON.stringify(script)} || exit 3
    complete -p ctr >/dev/null || exit 4
    ctr() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    _ctr_complete
    printf '%s\\n' "\${COMPREPLY[@]}"`
  const {stdout} = await promisify(execFile)('bash', ['-c', driver, 'bash', ...words], {
    env: {...process.env, CONTAINERD_ADDRESS: f.address, CONTAINERD_NAMESPACE: 'default', ...env},
    timeout: 20_000,
  })
  return stdout.split('\n').filter(Boolean).sort()
}

describe('ctr completion bash', () => {
  it('is valid bash', () => {
    execFileSync('bash', ['-n', script])
  })

  it('completes command and topic names from the registry', async () => {
    expect(await complete(['ctr', 'cont'])).toEqual(['containers'])
    expect(await complete(['ctr', 'containers', 'st'])).toEqual(['start', 'stats', 'stop'])
    expect(await complete(['ctr', 'ev'])).toEqual(['events'])
    expect(await complete(['ctr', ''])).toEqual(expect.arrayContaining(['containers', 'events', 'version', 'completion']))
    // Aliases are words too, and `help` takes command words.
    expect(await complete(['ctr', 'containers', 'l'])).toEqual(['list', 'logs', 'ls'])
    expect(await complete(['ctr', 'help', 'cont'])).toEqual(['containers'])
    // Global flags before the command do not stop command completion.
    expect(await complete(['ctr', '-n', 'x', '--address', '/s', 'cont'])).toEqual(['containers'])
  })

  it("completes a command's flags, long and short", async () => {
    expect(await complete(['ctr', 'containers', 'kill', '--si'])).toEqual(['--signal'])
    expect(await complete(['ctr', 'containers', 'kill', '-'])).toEqual(expect.arrayContaining(['-s', '-p', '--all', '--namespace', '-n', '--json']))
    expect(await complete(['ctr', '--'])).toEqual(expect.arrayContaining(['--address', '--namespace', '--debug']))
  })

  it('completes container IDs with the namespace typed on the line', async () => {
    expect(await complete(['ctr', '-n', f.namespace, 'containers', 'kill', ''])).toEqual(['comp-redis', 'comp-web'])
    expect(await complete(['ctr', 'containers', 'kill', '--namespace', f.namespace, 'comp-r'])).toEqual(['comp-redis'])
    // bash splits --namespace=NS at '=' (COMP_WORDBREAKS).
    expect(await complete(['ctr', 'containers', 'pause', '--namespace', '=', f.namespace, 'comp-w'])).toEqual(['comp-web'])
    // Repeating ID arguments, and flags that take a container ID.
    expect(await complete(['ctr', '-n', f.namespace, 'containers', 'kill', 'comp-redis', 'comp-'])).toEqual(['comp-redis', 'comp-web'])
    expect(await complete(['ctr', '-n', f.namespace, 'containers', 'exec', '--id', ''])).toEqual(['comp-redis', 'comp-web'])
    // From the environment's namespace, as ctr itself would use it.
    expect(await complete(['ctr', 'containers', 'ps', ''], {CONTAINERD_NAMESPACE: f.namespace})).toEqual(['comp-redis', 'comp-web'])
    // Other namespace: none of ours.
    expect(await complete(['ctr', '-n', `${f.namespace}-empty`, 'containers', 'kill', ''])).toEqual([])
  })

  it('offers nothing (quickly, without an error) when the daemon is not there', async () => {
    const started = Date.now()
    expect(await complete(['ctr', '--address', join(f.cliTmp, 'missing.sock'), 'containers', 'kill', ''])).toEqual([])
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('covers logs, wait, info, prune and namespaces; completes namespace names where one is taken', async () => {
    for (const verb of ['logs', 'wait', 'info']) {
      expect(await complete(['ctr', '-n', f.namespace, 'containers', verb, ''])).toEqual(['comp-redis', 'comp-web'])
    }
    expect(await complete(['ctr', 'containers', 'p'])).toEqual(['pause', 'prune', 'ps'])
    expect(await complete(['ctr', 'containers', 'logs', '--'])).toEqual(expect.arrayContaining(['--follow', '--tail']))
    expect(await complete(['ctr', 'containers', 'logs', '--'])).not.toContain('--since') // hidden: refused, not offered
    expect(await complete(['ctr', 'containers', 'start', '--'])).toEqual(expect.arrayContaining(['--log-path', '--no-log']))
    expect(await complete(['ctr', 'containers', 'delete', '--k'])).toEqual(['--keep-log'])
    expect(await complete(['ctr', 'namespaces', ''])).toEqual(['create', 'delete', 'list', 'ls', 'remove', 'rm'])
    const prefix = f.namespace.slice(0, -3)
    expect(await complete(['ctr', 'namespaces', 'rm', prefix])).toEqual([f.namespace])
    expect(await complete(['ctr', '-n', prefix])).toEqual([f.namespace])
    expect(await complete(['ctr', 'containers', 'kill', '--namespace', prefix])).toEqual([f.namespace])
    expect(await complete(['ctr', 'namespaces', 'create', prefix])).toEqual([])
  })

  it('does not complete after -- or for the ID of a new container', async () => {
    expect(await complete(['ctr', '-n', f.namespace, 'containers', 'exec', '--id', 'comp-redis', '--', ''])).toEqual([])
    expect(await complete(['ctr', '-n', f.namespace, 'containers', 'start', 'comp'])).toEqual([])
  })
})

describe('ctr completion zsh', () => {
  const zsh = ['/usr/bin/zsh', '/bin/zsh'].find((p) => {
    try {
      execFileSync(p, ['-c', 'true'])
      return true
    } catch {
      return false
    }
  })

  it.skipIf(!zsh)('is valid zsh', async () => {
    const generated = await f.cli(['completion', 'zsh'])
    expect(generated.code, generated.stderr).toBe(0)
    const file = join(f.cliTmp, '..', '_ctr')
    await writeFile(file, generated.stdout)
    execFileSync(zsh!, ['-n', file])
  })

  it.skipIf(!zsh)('runs the same completion logic under zsh (commands, subcommands, container IDs)', async () => {
    const generated = await f.cli(['completion', 'zsh'])
    const file = join(f.cliTmp, '..', '_ctr_logic')
    await writeFile(file, generated.stdout)
    const candidates = async (...args: string[]) => {
      const driver = `source ${JSON.stringify(file)} 2>/dev/null; ctr() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }; _ctr_candidates ctr "$@"`
      const {stdout} = await promisify(execFile)(zsh!, ['-c', driver, 'zsh', ...args], {env: {...process.env, CONTAINERD_ADDRESS: f.address}, timeout: 20_000})
      return stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t')[0])
    }
    expect(await candidates('cont')).toContain('containers')
    expect(await candidates('st', 'containers')).toEqual(expect.arrayContaining(['start', 'stats']))
    expect((await candidates('', '-n', f.namespace, 'containers', 'kill')).sort()).toEqual(['comp-redis', 'comp-web'])
    expect((await candidates('', `--namespace=${f.namespace}`, 'containers', 'kill')).sort()).toEqual(['comp-redis', 'comp-web'])
  })

  it.skipIf(!zsh)('completes for real in an interactive zsh (zpty: type, TAB, read the line)', async () => {
    const generated = await f.cli(['completion', 'zsh'])
    const fpathDir = join(f.cliTmp, '..', 'zfunc')
    await run('mkdir', ['-p', fpathDir])
    await writeFile(join(fpathDir, '_ctr'), generated.stdout)
    const driver = join(f.cliTmp, '..', 'zpty-driver.zsh')
    await writeFile(driver, ZPTY_DRIVER)
    const tab = async (typed: string, expected: RegExp) => {
      const {stdout} = await run(zsh!, [driver, fpathDir, `${process.execPath} ${CLI}`, typed, expected.source], {
        env: {...process.env, CONTAINERD_ADDRESS: f.address, HOME: f.cliTmp},
        timeout: 30_000,
      })
      return stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replaceAll('\b', '')
    }
    expect(await tab('ctr cont', /ctr containers/)).toMatch(/ctr containers/)
    // start, stats and stop share 'st': 'sto' is one word.
    expect(await tab('ctr containers sto', /ctr containers stop/)).toMatch(/ctr containers stop/)
    expect(await tab(`ctr -n ${f.namespace} containers kill comp-r`, /kill comp-redis/)).toMatch(/kill comp-redis/)
  })

  it('rejects other shells with a one-line error', async () => {
    const result = await f.cli(['completion', 'fish'])
    expect(result.code).toBe(125)
    expect(result.stderr).toMatch(/^ctr: [^\n]*fish[^\n]*\n$/)
  })
})
