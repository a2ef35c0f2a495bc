/**
 * `ctr containers start ID IMAGE` (issue 14 part B): an imported image runs as Go ctr's `run IMAGE ID` runs
 * it (Entrypoint+Cmd, WorkingDir, User by name from the image's own /etc/passwd), the container record names
 * the image, snapshotter and snapshot, delete removes the snapshot, and failures leave nothing behind.
 */
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {buildImage, busyboxLayer, filesLayer, writeOciArchive} from '../helpers/image-archive'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const NAME = 'docker.io/library/fromimage:1'
const BARE = 'docker.io/library/nocmd:1'
const SCRIPT = 'echo "hello from $(pwd) as $(id -u):$(id -g) $GREETING"; exit 3'
const EXPECTED = 'hello from /work as 1234:1235 hi\n'

let f: ImagesFixture
let archive: string
let bare: string
let ghost: string
const GHOST = 'docker.io/library/ghost:1'
const STOPPY = 'docker.io/library/stoppy:1'
let stoppy: string
const TRAPS = 'trap "echo got USR1; exit 7" USR1; trap "echo got TERM; exit 15" TERM; echo ready; while true; do sleep 0.1; done'

beforeAll(async () => {
  f = await setupImagesFixture('from-image')
  const base = await busyboxLayer()
  const app = filesLayer({
    'work/': {dir: true},
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1235:app:/work:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:1235:\n',
  })
  const image = await buildImage({
    layers: [base, app],
    config: {Env: ['PATH=/bin', 'GREETING=hi'], Entrypoint: ['/bin/sh', '-c'], Cmd: [SCRIPT], WorkingDir: '/work', User: 'app'},
  })
  archive = join(f.dir, 'image.tar')
  await writeOciArchive(archive, [{image, name: NAME}])
  bare = join(f.dir, 'bare.tar')
  ghost = join(f.dir, 'ghost.tar')
  await writeOciArchive(ghost, [{image: await buildImage({layers: [base], config: {Env: ['PATH=/bin'], Cmd: ['true'], User: 'ghost'}}), name: GHOST}])
  stoppy = join(f.dir, 'stoppy.tar')
  await writeOciArchive(stoppy, [
    {image: await buildImage({layers: [base], config: {Env: ['PATH=/bin'], Entrypoint: ['/bin/sh', '-c'], Cmd: [TRAPS], StopSignal: 'SIGUSR1'}}), name: STOPPY},
  ])
  await writeOciArchive(bare, [{image: await buildImage({layers: [base], config: {Env: ['PATH=/bin']}}), name: BARE}])
})

afterAll(async () => {
  await f?.cleanup()
})

async function imported(tag: string, file = archive): Promise<string> {
  const ns = f.namespace(tag)
  const result = await f.cli(ns, ['images', 'import', file])
  expect(result.code, result.stderr).toBe(0)
  return ns
}

describe('ctr containers start ID IMAGE', () => {
  it('runs the image command attached (--rm) and exits with its code, leaving only the image', async () => {
    const ns = await imported('attached')
    const before = await f.state(ns)
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c1', NAME])
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe(EXPECTED)
    expect(result.code).toBe(3)
    expect(await f.state(ns)).toEqual(before)
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it('prints what Go ctr run prints for the same image and command', async () => {
    const ns = await imported('go')
    const ours = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c2', NAME, '/bin/sh', '-c', SCRIPT])
    const go = await f.go(ns, ['run', '--rm', NAME, 'id2', '/bin/sh', '-c', SCRIPT])
    expect(ours.stdout).toBe(EXPECTED)
    expect(ours.stdout).toBe(go.stdout)
    expect(ours.code).toBe(3)
  })

  it('--env adds to and replaces the image environment, as Go ctr run --env does', async () => {
    const ns = await imported('env')
    const script = 'echo "$GREETING $EXTRA"'
    const ours = await f.cli(ns, ['containers', 'start', '-a', '--rm', '-e', 'GREETING=bonjour', '--env', 'EXTRA=x', 'c-env', NAME, '/bin/sh', '-c', script])
    const go = await f.go(ns, ['run', '--rm', '--env', 'GREETING=bonjour', '--env', 'EXTRA=x', NAME, 'id-env', '/bin/sh', '-c', script])
    expect(ours).toMatchObject({code: 0, stdout: 'bonjour x\n', stderr: ''})
    expect(ours.stdout).toBe(go.stdout)
    const bad = await f.cli(ns, ['containers', 'start', '-a', '--rm', '-e', '=nokey', 'c-env2', NAME])
    expect(bad.code).toBe(125)
    expect(bad.stderr).toBe('ctr: invalid --env entry #1: expected KEY=VALUE with a non-empty KEY\n')
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it('detached: the listing and Go ctr show the image and snapshot; delete removes the snapshot', async () => {
    const ns = await imported('detached')
    const before = await f.state(ns)
    const started = await f.cli(ns, ['containers', 'start', '--no-log', 'c3', NAME])
    expect(started.code, started.stderr).toBe(0)
    const list = await f.cli(ns, ['containers'])
    expect(list.stdout).toContain(NAME)
    const info = JSON.parse((await f.go(ns, ['c', 'info', 'c3'])).stdout) as Record<string, unknown>
    expect(info.Image).toBe(NAME)
    expect(info.Snapshotter).toBe('overlayfs')
    expect(info.SnapshotKey).toBe('c3')
    expect((await f.rows(ns, ['snapshots', 'ls'])).map((r) => r[0])).toContain('c3')
    // Wait for the command to exit, then delete.
    for (let i = 0; i < 50 && !(await f.cli(ns, ['containers'])).stdout.match(/exited|stopped/i); i++) await new Promise((r) => setTimeout(r, 100))
    const deleted = await f.cli(ns, ['containers', 'delete', '--force', 'c3'])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect((await f.rows(ns, ['snapshots', 'ls'])).map((r) => r[0])).not.toContain('c3')
    expect(await f.state(ns)).toEqual(before)
  })

  it('lists a container Go ctr run made from the image (as on a Kubernetes node) and one of ours alike', async () => {
    const ns = await imported('k8s')
    expect((await f.go(ns, ['run', '-d', NAME, 'go-made', 'sleep', '1000'])).code).toBe(0)
    expect((await f.cli(ns, ['containers', 'start', '--no-log', 'ours-made', NAME, 'sleep', '1000'])).code).toBe(0)
    const rows = (await f.cli(ns, ['containers'])).stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/))
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      ['go-made', NAME, 'running'],
      ['ours-made', NAME, 'running'],
    ])
    const json = JSON.parse((await f.cli(ns, ['containers', '--json'])).stdout) as Array<{id: string; bundle: string; image: string}>
    expect(json.map(({id, bundle, image}) => ({id, bundle, image}))).toEqual([
      {id: 'go-made', bundle: '', image: NAME},
      {id: 'ours-made', bundle: '', image: NAME},
    ])
    expect((await f.cli(ns, ['containers', 'delete', '--force', 'go-made', 'ours-made'])).code).toBe(0)
    expect((await f.rows(ns, ['snapshots', 'ls'])).map((r) => r[0])).not.toContain('ours-made')
  })

  it('an unknown image: one line, 125, nothing left', async () => {
    const ns = await imported('unknown')
    const before = await f.state(ns)
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c4', 'docker.io/library/nosuch:1'])
    expect(result.code).toBe(125)
    expect(result.stderr).toBe(`ctr: no bundle directory or image "docker.io/library/nosuch:1" in namespace "${ns}"\n`)
    expect(await f.state(ns)).toEqual(before)
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it('an image with no command and none given: one line, 125, nothing left', async () => {
    const ns = await imported('nocmd', bare)
    const before = await f.state(ns)
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c5', BARE])
    expect(result.code).toBe(125)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('no command')
    expect(await f.state(ns)).toEqual(before)
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it('a user the image does not have: one line, 125, nothing left (the snapshot is removed)', async () => {
    const ns = await imported('ghost', ghost)
    const before = await f.state(ns)
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c6', GHOST])
    expect(result.code).toBe(125)
    expect(result.stderr).toBe(`ctr: image "${GHOST}": no user "ghost" in its /etc/passwd\n`)
    expect(await f.state(ns)).toEqual(before)
  })

  it('a command not found (after Containers.Create): 127, nothing left', async () => {
    const ns = await imported('notfound')
    const before = await f.state(ns)
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c7', NAME, '/no/such'])
    expect(result.code).toBe(127)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(await f.state(ns)).toEqual(before)
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it('a bare name that is both a directory and an image: one line suggesting ./NAME', async () => {
    const ns = await imported('both')
    // The CLI runs in the repository, which has a directory "test": an image of that name too.
    const tagged = await f.go(ns, ['images', 'tag', NAME, 'test'])
    expect(tagged.code, tagged.stderr).toBe(0)
    const result = await f.cli(ns, ['containers', 'start', 'c8', 'test'])
    expect(result.code).toBe(125)
    expect(result.stderr).toContain('./test')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('an image whose layers are not unpacked for overlayfs: one line, 125, nothing left', async () => {
    const ns = await imported('unpacked')
    const rows = await f.rows(ns, ['snapshots', 'ls'])
    const parents = new Set(rows.map((r) => r[1]))
    const top = rows.find((r) => !parents.has(r[0]))![0]
    expect((await f.go(ns, ['snapshots', 'rm', top])).code).toBe(0)
    const before = await f.state(ns)
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'c9', NAME])
    expect(result.code).toBe(125)
    expect(result.stderr).toBe(`ctr: image ${NAME} is not unpacked for overlayfs: ctr images import it again\n`)
    // The image's lower layer may go to GC meanwhile (its parent reference was the removed top): not ours.
    const after = await f.state(ns)
    expect({...after, snapshots: []}).toEqual({...before, snapshots: []})
    expect(after.snapshots).not.toContain('c9')
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim()).toBe('')
  })

  it("the image's StopSignal becomes the container's stop-signal label, which kill without --signal sends", async () => {
    const ns = await imported('stopsignal', stoppy)
    const log = join(f.dir, 'stoppy.log')
    const started = await f.cli(ns, ['containers', 'start', '--log-path', log, 'c-stop', STOPPY])
    expect(started.code, started.stderr).toBe(0)
    const label = (id: string) =>
      f.go(ns, ['c', 'info', id]).then((r) => (JSON.parse(r.stdout) as {Labels?: Record<string, string>}).Labels?.['io.containerd.image.config.stop-signal'])
    expect(await label('c-stop')).toBe('SIGUSR1')
    // The traps are set once the script says so.
    for (let i = 0; i < 50 && !(await f.cli(ns, ['containers', 'logs', 'c-stop'])).stdout.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100))
    const killed = await f.cli(ns, ['containers', 'kill', '--json', 'c-stop'])
    expect(killed.code, killed.stderr).toBe(0)
    expect(JSON.parse(killed.stdout)[0]).toMatchObject({id: 'c-stop', signal: 10})
    expect(await f.cli(ns, ['containers', 'wait', 'c-stop'])).toMatchObject({code: 7, stdout: '7\n'})
    expect((await f.cli(ns, ['containers', 'logs', 'c-stop'])).stdout).toBe('ready\ngot USR1\n')
    // An image without StopSignal: SIGTERM, the label Go ctr run writes too.
    expect((await f.cli(ns, ['images', 'import', archive])).code).toBe(0)
    expect((await f.cli(ns, ['containers', 'start', '--no-log', 'c-term', NAME, 'sleep', '1000'])).code).toBe(0)
    expect((await f.go(ns, ['run', '-d', NAME, 'go-term', 'sleep', '1000'])).code).toBe(0)
    expect(await label('go-term')).toBe('SIGTERM')
    expect(await label('c-term')).toBe('SIGTERM')
    expect((await f.cli(ns, ['containers', 'delete', '--force', 'c-stop', 'c-term', 'go-term'])).code).toBe(0)
  })

  it("stop sends the image's stop signal; restart runs again on the same snapshot, appending to the log", async () => {
    const ns = await imported('restart', stoppy)
    const log = join(f.dir, 'restart.log')
    const script = 'echo x >> /runs; echo "runs $(wc -l < /runs)"; trap "exit 7" USR1; while true; do sleep 0.1; done'
    const started = await f.cli(ns, ['containers', 'start', '--log-path', log, 'c-re', STOPPY, '/bin/sh', '-c', script])
    expect(started.code, started.stderr).toBe(0)
    const logs = async () => (await f.cli(ns, ['containers', 'logs', 'c-re'])).stdout
    const until = async (text: string) => {
      for (let i = 0; i < 50 && !(await logs()).includes(text); i++) await new Promise((r) => setTimeout(r, 100))
    }
    await until('runs 1')
    const stopped = await f.cli(ns, ['containers', 'stop', '--json', 'c-re'])
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(JSON.parse(stopped.stdout)).toEqual([{id: 'c-re', stopped: true, exitStatus: 7, killed: false}])
    const restarted = await f.cli(ns, ['containers', 'restart', 'c-re'])
    expect(restarted.code, restarted.stderr).toBe(0)
    await until('runs 2')
    expect((await logs()).replace(/at \S+ ---/, 'at T ---')).toBe('runs 1\n--- ctr: container c-re restarted at T ---\nruns 2\n')
    expect((await f.cli(ns, ['containers', 'delete', '--force', 'c-re'])).code).toBe(0)
    expect((await f.state(ns)).snapshots).not.toContain('c-re')
  })
})
