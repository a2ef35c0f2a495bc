/**
 * `ctr checkpoints` and `containers start --checkpoint` against the real private containerd (1.6 here).
 * criu 3.17 cannot dump on these machines ("vdso: Unexpected rt vDSO area bounds"), so what is checked
 * for real is the failure path: one line with CRIU's reason, the container still running, nothing left in
 * the store; and that a restore reaches CRIU with ctr's image dir, work dir and CRIU config. The success
 * path is covered against the fake daemon (test/contract/checkpoints.test.ts).
 */
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {expectOneLineError, type Fixture, setupFixture} from './containers-fixture'

let fx: Fixture
let store: string
let bundle: string

const ctr = (args: string[]) => fx.cli(args, {env: {CTR_CHECKPOINT_DIR: store}})

beforeAll(async () => {
  fx = await setupFixture('checkpoints')
  const tmp = await mkdtemp(join(tmpdir(), 'ctr-it-ckpt-'))
  store = join(tmp, 'store')
  bundle = await makeBundle(join(tmp, 'bundle'))
  await fx.run('web')
  return async () => {
    await rm(tmp, {recursive: true, force: true})
  }
})

afterAll(async () => {
  await fx?.cleanup()
})

/** What is left in the namespace's part of the store (it must not exist after a failure). */
const storeLeftovers = async () => (existsSync(join(store, fx.namespace)) ? readdir(join(store, fx.namespace), {recursive: true}) : [])

describe('checkpoints create (criu cannot dump here)', () => {
  it.each([[[]], [['--exit']], [['--tcp', '--unix-sockets', '--shell', '--file-locks']]])(
    "with %j fails in one line with CRIU's reason; the container keeps running; nothing is left",
    async (flags) => {
      const before = (await fx.goTasks()).get('web')
      expect(before?.status).toBe('RUNNING')
      const result = await ctr(['checkpoints', 'create', ...flags, 'web', 'c1'])
      if (result.code === 0) {
        // A CRIU that works on this kernel: the checkpoint must then be listed (not the case on these machines).
        expect((await ctr(['checkpoints', '-q', 'web'])).stdout).toBe('c1\n')
        expect((await ctr(['checkpoints', 'delete', 'web', 'c1'])).code).toBe(0)
        return
      }
      // The reason comes from CRIU's dump.log (on these machines: "vdso: Unexpected rt vDSO area bounds").
      expectOneLineError(result, /^ctr: checkpoint "c1" of container "web" failed: criu: \S.*\n$/)
      expect(result.stderr).not.toMatch(/path=|log file|dump\.log/)
      expect((await fx.goTasks()).get('web')).toEqual(before)
      const list = await ctr(['checkpoints', 'web'])
      expect(list.code, list.stderr).toBe(0)
      expect(list.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^NAME\s+TCP\s+UNIX SOCKETS\s+SHELL\s+EXIT\s+CREATED$/)])
      expect(await storeLeftovers()).toEqual([])
      expect(await fx.leftovers()).toEqual([])
    },
  )

  it('names an unknown container', async () => {
    expectOneLineError(await ctr(['checkpoints', 'create', 'nope', 'c1']), /^ctr: container "nope" not found in namespace "[^"]+"\n$/)
  })

  it.each(['../x', 'a/b', '.hidden', 'a..b'])('rejects the name %j', async (name) => {
    expectOneLineError(await ctr(['checkpoints', 'create', 'web', name]), /^ctr: invalid checkpoint name /)
    expect(await storeLeftovers()).toEqual([])
  })
})

describe('checkpoints list and delete', () => {
  it('a missing checkpoint and an unknown container are clear errors', async () => {
    expectOneLineError(await ctr(['checkpoints', 'delete', 'web', 'nope']), /^ctr: checkpoint "nope" not found for container "web"\n$/)
    expectOneLineError(await ctr(['checkpoints', 'delete', 'ghost', 'c1']), /^ctr: container "ghost" not found in namespace "[^"]+"\n$/)
    expectOneLineError(await ctr(['checkpoints', 'ghost']), /^ctr: container "ghost" not found in namespace "[^"]+"\n$/)
    expect((await ctr(['checkpoints', '--json', 'web'])).stdout.trim()).toBe('[]')
  })
})

describe('containers start --checkpoint', () => {
  it('refuses a missing checkpoint and creates nothing', async () => {
    expectOneLineError(
      await ctr(['containers', 'start', '--checkpoint', 'nope', 'restored', bundle]),
      /^ctr: checkpoint "nope" not found for container "restored"\n$/,
    )
    const {stdout} = await fx.go(['containers', 'list', '-q'])
    expect(stdout.split('\n').filter(Boolean)).toEqual(['web'])
  })

  it("reaches CRIU with ctr's image dir, work dir and CRIU config, and a failure is one line and rolled back", async () => {
    // A checkpoint as `checkpoints create --tcp` would leave it, with a stand-in image CRIU cannot use.
    const dir = join(store, fx.namespace, 'restored', 'c1')
    await mkdir(join(dir, 'images'), {recursive: true})
    await mkdir(join(dir, 'work'))
    await writeFile(join(dir, 'images', 'descriptors.json'), '["/dev/null","/dev/null","/dev/null"]')
    await writeFile(join(dir, 'criu.conf'), 'tcp-established\n')
    const metadata = {
      name: 'c1',
      container: 'restored',
      namespace: fx.namespace,
      created: new Date().toISOString(),
      tcp: true,
      unixSockets: false,
      shell: false,
      exit: true,
      fileLocks: false,
    }
    await writeFile(join(dir, 'checkpoint.json'), JSON.stringify(metadata))
    expect((await ctr(['checkpoints', '-q', 'restored'])).stdout).toBe('c1\n')

    const result = await ctr(['containers', 'start', '--checkpoint', 'c1', 'restored', bundle])
    expectOneLineError(result, /^ctr: restore of container "restored" from checkpoint "c1" failed: criu: \S.*\n$/)
    // The shim ran `runc restore` on our directory: CRIU logged into our work dir and read our config.
    const restoreLog = await readFile(join(dir, 'work', 'restore.log'), 'utf8')
    expect(restoreLog).toContain(`Parsing config file ${join(dir, 'criu.conf')}`)
    const {stdout} = await fx.go(['containers', 'list', '-q'])
    expect(stdout.split('\n').filter(Boolean)).toEqual(['web'])
    expect((await fx.goTasks()).has('restored')).toBe(false)
    // The checkpoint itself is kept for another try.
    expect((await ctr(['checkpoints', 'delete', 'restored', 'c1'])).stdout).toBe('c1\n')
    expect(await storeLeftovers()).toEqual([])
  })
})
