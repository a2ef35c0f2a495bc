/**
 * The output rules, for every command: `--json` parses (listings, shows, verbs, and the NDJSON streams);
 * with stdout not a TTY no ANSI escape anywhere (stdout or stderr, tables, help, errors); on a TTY (under
 * `script`) the table header is bold, NO_COLOR=1 and FORCE_COLOR=0 turn colour off, FORCE_COLOR=1 turns
 * it on in a pipe; a spinner never shows under --json.
 *
 * JSON_COMMANDS is a fixed list on purpose: a registered command with a JSON flag that is not in it fails
 * the coverage test, so new commands are held to the same rules.
 */
import {execFile} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {Config} from '@oclif/core'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {buildImage, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {exited, LineReader} from '../helpers/line-reader'
import {CLI, type RunOptions} from '../helpers/run-cli'
import {PROBE_TOPIC, untilSubscribed} from '../helpers/wait'
import {type Fixture, setupFixture} from './containers-fixture'

const ANSI = /\x1b\[/
const {bundle} = inject('containerd')
let f: Fixture
let checkpointDir: string
let imageArchive: string
const IMAGE = 'example.com/output/tiny:1'

const cli = (args: string[], options: RunOptions = {}) =>
  f.cli(args, {
    ...options,
    env: {
      CTR_CHECKPOINT_DIR: checkpointDir,
      CNI_CONF_DIR: join(checkpointDir, 'cni'),
      CTR_NET_DIR: join(checkpointDir, 'net'),
      CTR_VOLUME_DIR: join(checkpointDir, 'volumes'),
      ...options.env,
    },
  })

beforeAll(async () => {
  f = await setupFixture('output')
  checkpointDir = await mkdtemp(join(tmpdir(), 'ctr-it-output-ckpt-'))
  await f.run('out-a')
  imageArchive = join(checkpointDir, 'image.tar')
  await writeOciArchive(imageArchive, [{image: await buildImage({layers: [filesLayer({'a.txt': 'a\n'})], gzip: true}), name: IMAGE}])
})

afterAll(async () => {
  await f?.cleanup()
  if (checkpointDir) await rm(checkpointDir, {recursive: true, force: true})
})

/** Runs the CLI under `script` so stdout and stderr are a terminal; returns what the terminal showed. */
async function onTty(args: string[], env: Record<string, string | undefined> = {}): Promise<{code: number; output: string}> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TERM: 'xterm',
    CONTAINERD_ADDRESS: f.address,
    CONTAINERD_NAMESPACE: f.namespace,
    CTR_CHECKPOINT_DIR: checkpointDir,
    TMPDIR: f.cliTmp,
  }
  delete childEnv.FORCE_COLOR
  delete childEnv.NO_COLOR
  delete childEnv.CI // spinners are off under CI
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key]
    else childEnv[key] = value
  }
  return promisify(execFile)('script', ['-qfec', quoted, '/dev/null'], {env: childEnv, timeout: 30_000}).then(
    ({stdout}) => ({code: 0, output: stdout.replaceAll('\r\n', '\n')}),
    (error: {code: number; stdout: string}) => ({code: error.code, output: String(error.stdout).replaceAll('\r\n', '\n')}),
  )
}

/** Commands whose output is one JSON document with --json, and how to call them (in order: they share state). */
/** `code`: the exit code when it is not 0 (wait exits with the task's status). */
const JSON_COMMANDS: Array<{id: string; args: () => string[]; check: (value: any) => void; code?: number}> = [
  {id: 'version', args: () => ['version', '--json'], check: (v) => expect(v.server.version).toMatch(/\d+\.\d+/)},
  {
    id: 'containers:start',
    args: () => ['containers', 'start', '--json', 'out-b', bundle],
    check: (v) => expect(v).toMatchObject({id: 'out-b', pid: expect.any(Number)}),
  },
  {id: 'containers', args: () => ['containers', '--json'], check: (v) => expect(v.map((c: {id: string}) => c.id)).toEqual(['out-a', 'out-b'])},
  {id: 'tasks', args: () => ['tasks', '--json'], check: (v) => expect(v).toContainEqual(expect.objectContaining({id: 'out-a', status: 'running'}))},
  {id: 'containers:ps', args: () => ['containers', 'ps', '--json', 'out-a'], check: (v) => expect(v[0]).toMatchObject({init: true, pid: expect.any(Number)})},
  {
    id: 'containers:exec',
    args: () => ['containers', 'exec', '--json', '--id', 'out-a', '--exec-id', 'out-exec', '--', 'sleep', '1000'],
    check: (v) => expect(v).toMatchObject({id: 'out-a', execId: 'out-exec'}),
  },
  {id: 'containers:pause', args: () => ['containers', 'pause', '--json', 'out-b'], check: (v) => expect(JSON.stringify(v)).toContain('out-b')},
  {id: 'containers:resume', args: () => ['containers', 'resume', '--json', 'out-b'], check: (v) => expect(JSON.stringify(v)).toContain('out-b')},
  {id: 'containers:kill', args: () => ['containers', 'kill', '--json', '-s', '9', 'out-b'], check: (v) => expect(JSON.stringify(v)).toContain('out-b')},
  {
    id: 'containers:wait',
    args: () => ['containers', 'wait', '--json', 'out-b'],
    check: (v) => expect(v).toMatchObject([{id: 'out-b', exitStatus: 137}]),
    code: 137,
  },
  {
    id: 'containers:info',
    args: () => ['containers', 'info', '--json', 'out-a'],
    check: (v) => expect(v).toMatchObject({id: 'out-a', task: {status: 'running'}}),
  },
  {
    id: 'namespaces:create',
    args: () => ['namespaces', 'create', '--json', `${f.namespace}-j`],
    check: (v) => expect(v).toEqual({name: `${f.namespace}-j`, labels: {}}),
  },
  {id: 'namespaces', args: () => ['namespaces', '--json'], check: (v) => expect(v).toContainEqual({name: `${f.namespace}-j`, labels: {}})},
  {id: 'namespaces:delete', args: () => ['namespaces', 'delete', '--json', `${f.namespace}-j`], check: (v) => expect(v).toEqual([{name: `${f.namespace}-j`}])},
  {id: 'networks:create', args: () => ['networks', 'create', '--json', 'out-net'], check: (v) => expect(v).toMatchObject({name: 'out-net', ctrMade: true})},
  {
    id: 'networks',
    args: () => ['networks', '--json'],
    check: (v) => expect(v).toMatchObject([{name: 'out-net', subnets: [expect.stringMatching(/^10\.8\./)]}]),
  },
  {id: 'networks:rm', args: () => ['networks', 'rm', '--json', 'out-net'], check: (v) => expect(v).toMatchObject([{name: 'out-net'}])},
  {id: 'checkpoints', args: () => ['checkpoints', '--json', 'out-a'], check: (v) => expect(v).toEqual([])},
  {
    id: 'volumes:create',
    args: () => ['volumes', 'create', '--json', 'out-v1', 'out-v2'],
    check: (v) => expect(v).toMatchObject([{name: 'out-v1'}, {name: 'out-v2'}]),
  },
  {id: 'volumes', args: () => ['volumes', '--json'], check: (v) => expect(v).toMatchObject([{name: 'out-v1', containers: []}, {name: 'out-v2'}])},
  {id: 'volumes:rm', args: () => ['volumes', 'rm', '--json', 'out-v1'], check: (v) => expect(v).toMatchObject([{name: 'out-v1'}])},
  {id: 'volumes:prune', args: () => ['volumes', 'prune', '--json'], check: (v) => expect(v).toMatchObject([{name: 'out-v2'}])},
  {id: 'containers:delete', args: () => ['containers', 'delete', '--json', '--force', 'out-b'], check: (v) => expect(JSON.stringify(v)).toContain('out-b')},
  {
    id: 'bench',
    args: () => ['bench', '--json', '-c', '2', '--prefix', 'out-bench', bundle],
    check: (v) => expect(v).toMatchObject({requested: 2, cleanedUp: 2, interrupted: false}),
  },
  {id: 'images:import', args: () => ['images', 'import', '--json', imageArchive], check: (v) => expect(v).toMatchObject([{name: IMAGE, created: true}])},
  {id: 'images', args: () => ['images', '--json'], check: (v) => expect(v).toMatchObject([{name: IMAGE, platforms: ['linux/amd64']}])},
  {
    id: 'images:tag',
    args: () => ['images', 'tag', '--json', IMAGE, 'example.com/out/tagged:1'],
    check: (v) => expect(v).toMatchObject([{name: 'example.com/out/tagged:1', source: IMAGE}]),
  },
  {id: 'images:inspect', args: () => ['images', 'inspect', '--json', IMAGE], check: (v) => expect(v).toMatchObject([{name: IMAGE, platform: 'linux/amd64'}])},
  {
    id: 'images:export',
    args: () => ['images', 'export', '--json', join(checkpointDir, 'out-export.tar'), IMAGE],
    check: (v) => expect(v).toMatchObject([{name: IMAGE}]),
  },
  {id: 'images:rm', args: () => ['images', 'rm', '--json', '--sync', IMAGE], check: (v) => expect(v).toMatchObject([{name: IMAGE}])},
  {
    id: 'images:prune',
    args: () => ['images', 'prune', '--json', '--all'],
    check: (v) => expect(v).toEqual([{name: 'example.com/out/tagged:1', digest: expect.any(String)}]),
  },
  {id: 'containers:prune', args: () => ['containers', 'prune', '--json'], check: (v) => expect(v).toEqual([])},
]

/** Commands that stream one JSON object per line. */
const NDJSON_COMMANDS = ['events', 'containers:stats']

/** Commands with a --json flag that cannot succeed here (CRIU fails on these machines; no registry): only their errors are checked. */
const JSON_ERROR_ONLY: Record<string, string[]> = {
  'checkpoints:create': ['checkpoints', 'create', '--json', 'out-missing', 'cp1'],
  // The lifecycle verbs (stop's and update's --json results are checked in containers-stop and containers-run-options).
  'containers:stop': ['containers', 'stop', '--json', 'out-missing'],
  'containers:restart': ['containers', 'restart', '--json', 'out-missing'],
  'containers:update': ['containers', 'update', '--json', '--memory', '64m', 'out-missing'],
  'checkpoints:delete': ['checkpoints', 'delete', '--json', 'out-a', 'no-such-checkpoint'],
  // No registry in this suite (a refused port): their --json results are checked in images-pull/push tests.
  'images:pull': ['images', 'pull', '--json', '--plain-http', '127.0.0.1:59998/none/x:1'],
  'images:push': ['images', 'push', '--json', '--plain-http', '127.0.0.1:59998/none/x:1', 'example.com/not-here:1'],
}

describe('--json', () => {
  it('covers every registered command with a JSON flag', async () => {
    const config = await Config.load(join(__dirname, '..', '..'))
    const withJson = config.commands
      .filter((c) => !c.aliases.includes(c.id) && !c.hiddenAliases?.includes(c.id) && (c.enableJsonFlag || c.flags?.json))
      .map((c) => c.id)
    const covered = new Set([...JSON_COMMANDS.map((c) => c.id), ...NDJSON_COMMANDS, ...Object.keys(JSON_ERROR_ONLY)])
    expect(
      withJson.filter((id) => !covered.has(id)),
      'add them to test/integration/output.test.ts',
    ).toEqual([])
  })

  it('prints one parseable JSON document and nothing else, no colour', async () => {
    for (const command of JSON_COMMANDS) {
      const result = await cli(command.args())
      expect(result.code, `${command.id}: ${result.stderr}`).toBe(command.code ?? 0)
      expect(result.stderr, command.id).toBe('')
      expect(result.stdout, command.id).not.toMatch(ANSI)
      command.check(JSON.parse(result.stdout))
    }
  })

  it('containers stats --no-stream --json: one JSON object per line', async () => {
    const result = await cli(['containers', 'stats', '--no-stream', '--json', 'out-a'])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toMatchObject({id: 'out-a', state: 'running'})
    expect(result.stdout + result.stderr).not.toMatch(ANSI)
  })

  it('events --json: each event is one line of JSON, written as it happens', async () => {
    const child = f.spawn(['events', '--json'])
    const reader = new LineReader(child.stdout!)
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    try {
      await untilSubscribed(f.address, f.namespace, 'out-probe', () => reader.lines.some((l) => l.includes(`"topic":"${PROBE_TOPIC}"`)))
      expect((await cli(['containers', 'pause', 'out-a'])).code).toBe(0)
      expect((await cli(['containers', 'resume', 'out-a'])).code).toBe(0)
      const line = await reader.waitFor(/resumed/)
      expect(JSON.parse(line)).toMatchObject({type: 'resumed', id: 'out-a', namespace: f.namespace})
      for (const l of reader.lines) JSON.parse(l)
      expect(reader.text + stderr).not.toMatch(ANSI)
    } finally {
      child.kill('SIGINT')
      await exited(child)
    }
  })

  it('errors stay one plain line on stderr with --json', async () => {
    for (const args of Object.values(JSON_ERROR_ONLY)) {
      const result = await cli(args)
      expect(result.code, args.join(' ')).toBe(125)
      // Verbs on several IDs print what succeeded (here: nothing, []) and fail for the rest.
      if (result.stdout !== '') expect(JSON.parse(result.stdout)).toEqual([])
      expect(result.stderr).toMatch(/^ctr: [^\n]+\n$/)
      expect(result.stderr).not.toMatch(ANSI)
    }
  })
})

describe('colour', () => {
  it('never appears when stdout is not a terminal: tables, help, errors of every command', async () => {
    const runs = [
      ['containers'],
      ['containers', 'ps', 'out-a'],
      ['containers', 'stats', '--no-stream'],
      ['checkpoints', 'out-a'],
      ['version'],
      ['containers', 'kill', 'out-missing'],
      ['containers', '--filter', 'bogus'],
      ['contaners'],
      ['--help'],
      ['containers', '--help'],
      ['completion', 'bash'],
      ['bench', '-c', '1', '--prefix', 'out-plain-bench', bundle],
    ]
    for (const args of runs) {
      const result = await cli(args)
      expect(result.stdout + result.stderr, args.join(' ')).not.toMatch(ANSI)
    }
    // The table itself is there, header included, as Go ctr keeps it in pipes.
    expect((await cli(['containers'])).stdout).toMatch(/^ID\s+PATH\s+STATUS\s+PID1\nout-a\s+/)
  })

  it('FORCE_COLOR=1 colours even a pipe; NO_COLOR wins over it', async () => {
    expect((await cli(['containers'], {env: {FORCE_COLOR: '1'}})).stdout).toMatch(/\x1b\[1mID/)
    expect((await cli(['containers'], {env: {FORCE_COLOR: '1', NO_COLOR: '1'}})).stdout).not.toMatch(ANSI)
  })

  it('on a terminal the header is bold; NO_COLOR=1 and FORCE_COLOR=0 turn colour off', async () => {
    const coloured = await onTty(['containers'])
    expect(coloured.code, coloured.output).toBe(0)
    expect(coloured.output).toMatch(/\x1b\[1mID/)
    expect(coloured.output).toMatch(/out-a/)

    for (const env of [{NO_COLOR: '1'}, {FORCE_COLOR: '0'}]) {
      const plain = await onTty(['containers'], env)
      expect(plain.code, plain.output).toBe(0)
      expect(plain.output, JSON.stringify(env)).toMatch(/^ID\s+PATH\s+STATUS\s+PID1\nout-a\s+/)
      expect(plain.output, JSON.stringify(env)).not.toMatch(ANSI)
    }
  })

  it('on a terminal, --json is still plain JSON and shows no spinner', async () => {
    const started = await onTty(['containers', 'start', '--json', 'out-tty', bundle])
    expect(started.code, started.output).toBe(0)
    expect(started.output).not.toMatch(ANSI)
    expect(JSON.parse(started.output)).toMatchObject({id: 'out-tty'})
    const listed = await onTty(['containers', '--json'])
    expect(JSON.parse(listed.output).map((c: {id: string}) => c.id)).toContain('out-tty')
    expect((await cli(['containers', 'delete', '--force', 'out-tty'])).code).toBe(0)
    // bench's progress bar is for people only.
    const bench = await onTty(['bench', '--json', '-c', '3', '--prefix', 'out-tty-bench', bundle])
    expect(bench.code, bench.output).toBe(0)
    expect(bench.output).not.toMatch(ANSI)
    expect(JSON.parse(bench.output)).toMatchObject({requested: 3, cleanedUp: 3})
  })
})
