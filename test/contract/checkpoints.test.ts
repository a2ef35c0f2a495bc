/**
 * Contract of `ctr checkpoints ...` and `ctr containers start --checkpoint`: the built CLI against the
 * recording fake containerd (test/helpers/fake-containerd.ts), since CRIU cannot dump on these machines.
 * Asserts what goes over the wire (CheckpointOptions, Tasks.Create's runc Options), what lands in the
 * checkpoint store, and what the user sees.
 */
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {CheckpointOptions, Options} from '../../src/gen/containerd/runc/options/oci'
import {Status} from '../../src/gen/containerd/types/task/task'
import {makeBundle} from '../helpers/bundle'
import {type FakeContainerd, startFakeContainerd, statusError} from '../helpers/fake-containerd'
import {runCli} from '../helpers/run-cli'

const NS = 'ckpt-contract'
let fake: FakeContainerd
let tmp: string
let store: string
let bundle: string

const ctr = (args: string[]) => runCli(args, {address: fake.address, namespace: NS, env: {CTR_CHECKPOINT_DIR: store}})
const checkpointRequests = () => fake.requests('Tasks.Checkpoint')
const lastCheckpointOptions = () => {
  const {request} = checkpointRequests().at(-1)!
  expect(request.options.typeUrl).toBe('containerd.runc.v1.CheckpointOptions')
  return CheckpointOptions.decode(request.options.value)
}

function expectOneLineError(result: {code: number | null; stderr: string}, message: string | RegExp): void {
  expect(result.code, result.stderr).toBe(125)
  expect(result.stderr).toMatch(/^ctr: [^\n]+\n$/)
  if (typeof message === 'string') expect(result.stderr).toBe(`ctr: ${message}\n`)
  else expect(result.stderr).toMatch(message)
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ctr-ckpt-contract-'))
  bundle = await makeBundle(join(tmp, 'bundle'))
})

afterAll(async () => {
  await rm(tmp, {recursive: true, force: true})
})

beforeEach(async (context) => {
  fake = await startFakeContainerd()
  store = join(tmp, `store-${Math.random().toString(36).slice(2)}`)
  fake.addContainer(NS, 'web', {task: 'running'})
  context.onTestFinished(() => fake.stop())
})

describe('checkpoints create', () => {
  it('sends exactly the requested CRIU options, with image and work paths inside the store, for the right container and namespace', async () => {
    const result = await ctr(['checkpoints', 'create', '--tcp', '--unix-sockets', '--shell', '--exit', 'web', 'c1'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')

    const requests = checkpointRequests()
    expect(requests).toHaveLength(1)
    expect(requests[0].namespace).toBe(NS)
    expect(requests[0].request.containerId).toBe('web')
    const options = lastCheckpointOptions()
    expect(options).toMatchObject({
      openTcp: true,
      externalUnixSockets: true,
      terminal: true,
      exit: true,
      fileLocks: false,
      emptyNamespaces: [],
      cgroupsMode: '',
    })
    // CRIU writes into a hidden staging directory of the container's store, renamed into place afterwards.
    const containerDir = join(store, NS, 'web')
    expect(options.imagePath).toMatch(new RegExp(`^${containerDir}/\\.c1\\.[0-9a-f]+/images$`))
    expect(options.workPath).toBe(options.imagePath.replace(/images$/, 'work'))

    expect(await readdir(containerDir)).toEqual(['c1'])
    expect(await readFile(join(containerDir, 'c1', 'images', 'inventory.img'), 'utf8')).toBe('fake CRIU image\n')
    expect(existsSync(join(containerDir, 'c1', 'work', 'dump.log'))).toBe(true)
    expect(await readFile(join(containerDir, 'c1', 'criu.conf'), 'utf8')).toBe('tcp-established\next-unix-sk\nshell-job\n')
    // Not paused around the dump (CRIU freezes the tree itself): nothing to resume on any path.
    expect(fake.requests('Tasks.Pause')).toHaveLength(0)
    // --exit: the fake's task exited as runc's would.
    expect(fake.tasks.get(`${NS}/web`)?.status).toBe(Status.STOPPED)
  })

  const single: Array<[string, keyof ReturnType<typeof CheckpointOptions.decode>]> = [
    ['--tcp', 'openTcp'],
    ['--unix-sockets', 'externalUnixSockets'],
    ['--shell', 'terminal'],
    ['--exit', 'exit'],
    ['--file-locks', 'fileLocks'],
  ]
  it.each(single)('%s alone sets only %s', async (flag, field) => {
    const result = await ctr(['checkpoints', 'create', flag, 'web', 'one'])
    expect(result.code, result.stderr).toBe(0)
    const options = lastCheckpointOptions()
    for (const [, other] of single) expect(options[other], other).toBe(other === field)
  })

  it('without flags leaves the container running and asks for nothing', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'plain'])).code).toBe(0)
    expect(lastCheckpointOptions()).toMatchObject({openTcp: false, externalUnixSockets: false, terminal: false, exit: false, fileLocks: false})
    expect(fake.tasks.get(`${NS}/web`)?.status).toBe(Status.RUNNING)
    expect(existsSync(join(store, NS, 'web', 'plain', 'criu.conf'))).toBe(false)
  })

  it('returns the checkpoint under --json', async () => {
    const result = await ctr(['checkpoints', 'create', '--json', '--tcp', 'web', 'c1'])
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      name: 'c1',
      container: 'web',
      namespace: NS,
      tcp: true,
      unixSockets: false,
      path: join(store, NS, 'web', 'c1'),
    })
  })

  it('refuses a name that already exists, before calling CRIU', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    expectOneLineError(await ctr(['checkpoints', 'create', 'web', 'c1']), 'checkpoint "c1" already exists for container "web"')
    expect(checkpointRequests()).toHaveLength(1)
  })

  it("fails in one line with CRIU's reason from dump.log, leaves nothing behind and the task running", async () => {
    fake.handle('Tasks.Checkpoint', async ({options}) => {
      const {imagePath, workPath} = CheckpointOptions.decode(options.value)
      await writeFile(join(imagePath, 'descriptors.json'), '[]') // runc writes this before CRIU fails
      await writeFile(
        join(workPath, 'dump.log'),
        [
          '(00.000468) Version: 3.17.1 (gitid 0)',
          '(00.001929) Error (criu/util.c:642): exited, status=1',
          '(00.002512) Pagemap is fully functional',
          '(00.007494) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds',
          '(00.007495) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable',
          '(00.007496) Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.',
          '(00.007519) Adjust mmap_min_addr 0x1000 -> 0x10000',
        ].join('\n'),
      )
      throw statusError(2, 'runc did not terminate successfully: exit status 1: criu failed: type DUMP errno 0 path= /run/x/criu-dump.log: unknown')
    })
    const result = await ctr(['checkpoints', 'create', '--tcp', 'web', 'c1'])
    expectOneLineError(result, 'checkpoint "c1" of container "web" failed: criu: vdso: Unexpected rt vDSO area bounds')
    expect(existsSync(join(store, NS))).toBe(false)
    expect(fake.tasks.get(`${NS}/web`)?.status).toBe(Status.RUNNING)
    expect(fake.requests('Tasks.Pause')).toHaveLength(0)
    const list = await ctr(['checkpoints', '-q', 'web'])
    expect(list.code).toBe(0)
    expect(list.stdout).toBe('')
  })

  it("falls back to the daemon's message, in one line, when there is no dump.log", async () => {
    fake.handle('Tasks.Checkpoint', () => {
      throw statusError(
        2,
        'runc did not terminate successfully: exit status 1: criu failed: type DUMP errno 0\nlog file: /x/dump.log path= /run/x/criu-dump.log: unknown',
      )
    })
    expectOneLineError(
      await ctr(['checkpoints', 'create', 'web', 'c1']),
      'checkpoint "c1" of container "web" failed: runc did not terminate successfully: exit status 1: criu failed: type DUMP errno 0',
    )
    expect(existsSync(join(store, NS))).toBe(false)
  })

  it('names unknown containers and containers without a running task', async () => {
    fake.addContainer(NS, 'idle')
    fake.addContainer(NS, 'done', {task: 'stopped'})
    expectOneLineError(await ctr(['checkpoints', 'create', 'nope', 'c1']), /^ctr: container "nope" not found in namespace "[^"]+"\n$/)
    expectOneLineError(await ctr(['checkpoints', 'create', 'idle', 'c1']), 'container "idle" has no running task to checkpoint (start it first)')
    expectOneLineError(await ctr(['checkpoints', 'create', 'done', 'c1']), 'container "done" is stopped: only a running task can be checkpointed')
    expect(checkpointRequests()).toHaveLength(0)
  })

  it.each(['../evil', 'a/b', '.hidden', '', 'x'.repeat(77), 'a..b', '_a'])('rejects the name %j before calling the daemon', async (name) => {
    const result = await ctr(['checkpoints', 'create', 'web', name])
    expectOneLineError(result, /^ctr: invalid checkpoint name /)
    expect(fake.recorded).toHaveLength(0)
  })

  it('rejects a container ID that would leave the store', async () => {
    expectOneLineError(await ctr(['checkpoints', 'create', '..', 'c1']), /^ctr: invalid container ID "\.\."/)
    expectOneLineError(await ctr(['checkpoints', '../..']), /^ctr: invalid container ID/)
    expect(fake.recorded).toHaveLength(0)
  })
})

describe('checkpoints (list)', () => {
  it('shows each checkpoint with its options, oldest first, as a table, JSON or names', async () => {
    expect((await ctr(['checkpoints', 'create', '--tcp', '--shell', 'web', 'test'])).code).toBe(0)
    expect((await ctr(['checkpoints', 'create', '--unix-sockets', 'web', 'test2'])).code).toBe(0)

    const table = await ctr(['checkpoints', 'web'])
    expect(table.code, table.stderr).toBe(0)
    const lines = table.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s{2,}/))
    expect(lines[0]).toEqual(['NAME', 'TCP', 'UNIX SOCKETS', 'SHELL', 'EXIT', 'CREATED'])
    expect(lines.slice(1).map((row) => row.slice(0, 5))).toEqual([
      ['test', 'true', 'false', 'true', 'false'],
      ['test2', 'false', 'true', 'false', 'false'],
    ])
    expect(new Date(lines[1][5]).getTime()).toBeGreaterThan(Date.now() - 60_000)

    const json = JSON.parse((await ctr(['checkpoints', '--json', 'web'])).stdout)
    expect(json).toEqual([
      expect.objectContaining({name: 'test', container: 'web', namespace: NS, tcp: true, unixSockets: false, shell: true, exit: false, fileLocks: false}),
      expect.objectContaining({name: 'test2', tcp: false, unixSockets: true, shell: false}),
    ])
    expect((await ctr(['checkpoints', '-q', 'web'])).stdout).toBe('test\ntest2\n')
  })

  it('lists the checkpoints of a container that is gone (they can still be restored)', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'keep'])).code).toBe(0)
    fake.containers.delete(`${NS}/web`)
    expect((await ctr(['checkpoints', '-q', 'web'])).stdout).toBe('keep\n')
  })

  it('is an error for an unknown container without checkpoints', async () => {
    expectOneLineError(await ctr(['checkpoints', 'nope']), /^ctr: container "nope" not found in namespace "[^"]+"\n$/)
  })

  it('keeps checkpoints of other namespaces apart', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    fake.addContainer('other', 'web')
    const other = await runCli(['checkpoints', '-q', 'web'], {address: fake.address, namespace: 'other', env: {CTR_CHECKPOINT_DIR: store}})
    expect(other.code, other.stderr).toBe(0)
    expect(other.stdout).toBe('')
  })
})

describe('checkpoints delete', () => {
  it('removes the checkpoint directory and the emptied parents', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    expect((await ctr(['checkpoints', 'create', 'web', 'c2'])).code).toBe(0)
    const first = await ctr(['checkpoints', 'delete', 'web', 'c1'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toBe('c1\n')
    expect(await readdir(join(store, NS, 'web'))).toEqual(['c2'])
    expect((await ctr(['checkpoints', '-q', 'web'])).stdout).toBe('c2\n')
    expect((await ctr(['checkpoints', 'rm', 'web', 'c2'])).code).toBe(0)
    expect(existsSync(join(store, NS))).toBe(false)
  })

  it('says which checkpoint is missing, keeps going past it, and exits non-zero', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    const result = await ctr(['checkpoints', 'delete', 'web', 'nope', 'c1'])
    expectOneLineError(result, 'checkpoint "nope" not found for container "web"')
    expect(result.stdout).toBe('c1\n')
    expect(existsSync(join(store, NS, 'web'))).toBe(false)
  })

  it('names an unknown container', async () => {
    expectOneLineError(await ctr(['checkpoints', 'delete', 'nope', 'c1']), /^ctr: container "nope" not found in namespace "[^"]+"\n$/)
  })
})

describe('containers start --checkpoint', () => {
  it('restores through Tasks.Create with runc Options{criu_image_path, criu_work_path} and CRIU options in org.criu.config', async () => {
    expect((await ctr(['checkpoints', 'create', '--exit', '--tcp', 'web', 'c1'])).code).toBe(0)
    // The container record must go first: start creates it afresh. Its checkpoints stay.
    expect((await ctr(['containers', 'delete', 'web'])).code).toBe(0)

    const result = await ctr(['containers', 'start', '--checkpoint', 'c1', 'web', bundle])
    expect(result.code, result.stderr).toBe(0)
    const [create] = fake.requests('Tasks.Create')
    expect(create.namespace).toBe(NS)
    expect(create.request.containerId).toBe('web')
    expect(create.request.checkpoint).toBeUndefined()
    expect(create.request.options.typeUrl).toBe('containerd.runc.v1.Options')
    const checkpointDir = join(store, NS, 'web', 'c1')
    expect(Options.decode(create.request.options.value)).toEqual({
      ...Options.fromPartial({}),
      criuImagePath: join(checkpointDir, 'images'),
      criuWorkPath: join(checkpointDir, 'work'),
    })
    const [createContainer] = fake.requests('Containers.Create')
    const spec = JSON.parse(Buffer.from(createContainer.request.container.spec.value).toString())
    expect(spec.annotations).toMatchObject({'org.criu.config': join(checkpointDir, 'criu.conf')})
    expect(fake.tasks.get(`${NS}/web`)?.status).toBe(Status.RUNNING)
    // The checkpoint can be restored again.
    expect((await ctr(['checkpoints', '-q', 'web'])).stdout).toBe('c1\n')
  })

  it('-c works the same; no CRIU options means no annotation', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    fake.containers.delete(`${NS}/web`)
    fake.tasks.delete(`${NS}/web`)
    expect((await ctr(['containers', 'start', '-c', 'c1', 'web', bundle])).code).toBe(0)
    const [createContainer] = fake.requests('Containers.Create')
    const spec = JSON.parse(Buffer.from(createContainer.request.container.spec.value).toString())
    expect(spec.annotations?.['org.criu.config']).toBeUndefined()
    expect(Options.decode(fake.requests('Tasks.Create')[0].request.options.value).criuImagePath).toBe(join(store, NS, 'web', 'c1', 'images'))
  })

  it('refuses while the container record exists, and for a missing checkpoint, creating nothing', async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    expectOneLineError(await ctr(['containers', 'start', '--checkpoint', 'c1', 'web', bundle]), /^ctr: container "web" already exists: delete it first/)
    expectOneLineError(await ctr(['containers', 'start', '--checkpoint', 'nope', 'other', bundle]), 'checkpoint "nope" not found for container "other"')
    expect(fake.requests('Containers.Create')).toHaveLength(0)
    expect(fake.requests('Tasks.Create')).toHaveLength(0)
  })

  it("a failed restore is one line with CRIU's reason from restore.log, and rolls back", async () => {
    expect((await ctr(['checkpoints', 'create', 'web', 'c1'])).code).toBe(0)
    fake.containers.delete(`${NS}/web`)
    fake.tasks.delete(`${NS}/web`)
    fake.handle('Tasks.Start', async () => {
      const options = Options.decode(fake.requests('Tasks.Create')[0].request.options.value)
      await writeFile(
        join(options.criuWorkPath, 'restore.log'),
        '(00.1) Error (criu/files-reg.c:1): File bin/sleep has bad size 1 (expect 2)\n(00.2) Error (criu/cr-restore.c:2): Restoring FAILED.\n',
      )
      throw statusError(2, 'OCI runtime restore failed: criu failed: type RESTORE errno 0\nlog file: /x/restore.log: unknown')
    })
    const result = await ctr(['containers', 'start', '-c', 'c1', 'web', bundle])
    expectOneLineError(result, 'restore of container "web" from checkpoint "c1" failed: criu: File bin/sleep has bad size 1 (expect 2)')
    expect(fake.containers.has(`${NS}/web`)).toBe(false)
    expect(fake.tasks.has(`${NS}/web`)).toBe(false)
  })
})
