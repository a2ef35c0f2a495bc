/**
 * `exec -u NAME` and an image's User (issue 21 item 4): names resolve in the container's own /etc/passwd and
 * /etc/group, wherever ctr runs from (a container made from an image has a relative root.path, which once
 * read ./rootfs/etc/passwd under ctr's working directory), and a symlink in the container's /etc is resolved
 * inside the container, never to the host's file of that name.
 */
import {chown, mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {buildImage, busyboxLayer, filesLayer, type LayerSpec, writeOciArchive} from '../helpers/image-archive'
import {type ImagesFixture, setupImagesFixture} from './images-fixture'

const APP = 'docker.io/library/users-app:1'
const LINKED = 'docker.io/library/users-linked:1'
/** LINKED with User app. */
const LINKED_USER = 'docker.io/library/users-linked-user:1'
/** APP with a top layer that deletes /etc/passwd (a whiteout); and that with User app. */
const WHITED = 'docker.io/library/users-whited:1'
const WHITED_USER = 'docker.io/library/users-whited-user:1'
const IDS = 'echo $(id -u):$(id -g)'
/** What the host's planted files say: root. */
const PLANTED_PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:0:0:app:/:/bin/sh\nuser:x:0:0::/:/bin/sh\n'
const PLANTED_GROUP = 'root:x:0:\napp:x:0:\n'

let f: ImagesFixture
let ns: string
let host: string
let planted: string
let bundle: string
const NOBODY = 65534

beforeAll(async () => {
  f = await setupImagesFixture('exec-users')
  ns = f.namespace('users')
  // Host files a wrong resolution would read: at a path the linked image's /etc points to, and a
  // ./rootfs/etc in a directory another user (nobody) owns, from where ctr is run.
  host = join(f.dir, 'shared')
  await mkdir(host)
  await writeFile(join(host, 'passwd'), PLANTED_PASSWD)
  await writeFile(join(host, 'group'), PLANTED_GROUP)
  planted = await mkdtemp(join(f.dir, 'planted-'))
  await mkdir(join(planted, 'rootfs', 'etc'), {recursive: true})
  await writeFile(join(planted, 'rootfs', 'etc', 'passwd'), PLANTED_PASSWD)
  await writeFile(join(planted, 'rootfs', 'etc', 'group'), PLANTED_GROUP)
  for (const path of [
    planted,
    join(planted, 'rootfs'),
    join(planted, 'rootfs', 'etc'),
    join(planted, 'rootfs', 'etc', 'passwd'),
    join(planted, 'rootfs', 'etc', 'group'),
  ]) {
    await chown(path, NOBODY, NOBODY)
  }

  const base = await busyboxLayer()
  const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1235:app:/:/bin/sh\n'
  const group = 'root:x:0:\napp:x:1235:\n'
  const app = filesLayer({'etc/passwd': passwd, 'etc/group': group})
  // /etc/passwd an absolute link, /etc/group a relative one climbing past the root: both to `host`'s path,
  // which the image holds too (the container's own files), as the host does (root's).
  const files: LayerSpec['files'] = {}
  const parts = host.split('/').filter(Boolean)
  for (let i = 1; i <= parts.length; i++) files[`${parts.slice(0, i).join('/')}/`] = {dir: true}
  files[`${parts.join('/')}/passwd`] = passwd
  files[`${parts.join('/')}/group`] = group
  files['etc/passwd'] = {link: `${host}/passwd`}
  files['etc/group'] = {link: `../../../../../../../..${host}/group`}
  const config = {Env: ['PATH=/bin'], Cmd: ['sh', '-c', IDS]}
  const archive = join(f.dir, 'images.tar')
  await writeOciArchive(archive, [
    {image: await buildImage({layers: [base, app], config: {Env: ['PATH=/bin'], Cmd: ['sleep', '100000']}}), name: APP},
    {image: await buildImage({layers: [base, filesLayer(files)], config}), name: LINKED},
    {image: await buildImage({layers: [base, filesLayer(files)], config: {...config, User: 'app'}}), name: LINKED_USER},
    {image: await buildImage({layers: [base, app, filesLayer({'etc/.wh.passwd': ''})], config}), name: WHITED},
    {image: await buildImage({layers: [base, app, filesLayer({'etc/.wh.passwd': ''})], config: {...config, User: 'app'}}), name: WHITED_USER},
  ])
  const imported = await f.cli(ns, ['images', 'import', archive])
  expect(imported.code, imported.stderr).toBe(0)
  bundle = await makeBundle(join(f.dir, 'bundle'), ['sleep', '100000'])
  for (const [id, source] of [
    ['u-app', APP],
    ['u-linked', LINKED],
    ['u-bundle', bundle],
  ]) {
    const started = await f.cli(ns, ['containers', 'start', '--no-log', id, source, ...(source === bundle ? [] : ['sleep', '100000'])])
    expect(started.code, started.stderr).toBe(0)
  }
})

afterAll(async () => {
  if (ns) await f.cli(ns, ['containers', 'delete', '--force', 'u-app', 'u-linked', 'u-bundle'])
  await f?.cleanup()
})

const execIds = (id: string, user: string, cwd: string) => f.cli(ns, ['containers', 'exec', '-a', '--id', id, '-u', user, '--', 'sh', '-c', IDS], {cwd})

describe('exec -u NAME in the running container', () => {
  it("a container made from an image, ctr run from /: the image's user", async () => {
    expect(await execIds('u-app', 'app', '/')).toMatchObject({code: 0, stdout: '1234:1235\n', stderr: ''})
    expect(await execIds('u-app', 'root:app', '/')).toMatchObject({code: 0, stdout: '0:1235\n', stderr: ''})
  })

  it("ctr run from a directory of nobody's holding rootfs/etc/passwd: still the container's user, never that file's", async () => {
    expect(await execIds('u-app', 'app', planted)).toMatchObject({code: 0, stdout: '1234:1235\n', stderr: ''})
    expect(await execIds('u-app', 'app:app', planted)).toMatchObject({code: 0, stdout: '1234:1235\n', stderr: ''})
  })

  it("/etc/passwd and /etc/group symlinks (absolute, and climbing past /) resolve inside the container, not to the host's files", async () => {
    expect(await execIds('u-linked', 'app:app', '/')).toMatchObject({code: 0, stdout: '1234:1235\n', stderr: ''})
    // What the container itself sees through the same links.
    expect((await f.cli(ns, ['containers', 'exec', '-a', '--id', 'u-linked', '--', 'id', 'app'])).stdout).toMatch(/^uid=1234\(app\) gid=1235\(app\)/)
  })

  it('a bundle container, ctr run from / and from the planted directory', async () => {
    expect(await execIds('u-bundle', 'user', '/')).toMatchObject({code: 0, stdout: '1000:1000\n', stderr: ''})
    expect(await execIds('u-bundle', 'user', planted)).toMatchObject({code: 0, stdout: '1000:1000\n', stderr: ''})
  })

  it('a name the container does not have: one line, 125, no exec process left', async () => {
    const result = await execIds('u-app', 'ghost', planted)
    expect(result).toMatchObject({code: 125, stdout: '', stderr: 'ctr: no user "ghost" in container "u-app" (its /etc/passwd)\n'})
    const ps = await f.cli(ns, ['containers', 'ps', '--json', 'u-app'])
    expect((JSON.parse(ps.stdout) as Array<{init: boolean}>).filter((p) => !p.init)).toEqual([])
  })
})

describe("an image's User", () => {
  it('resolves through symlinks inside the image, never the host file of that name', async () => {
    const result = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'u-run', LINKED_USER], {cwd: planted})
    expect(result).toMatchObject({code: 0, stdout: '1234:1235\n', stderr: ''})
  })

  it("is looked up in the image's merged layers: a passwd a later layer deletes (whiteout) names nobody; so for start's -u", async () => {
    const whited = await f.cli(ns, ['containers', 'start', '-a', '--rm', 'u-whited', WHITED_USER])
    expect(whited).toMatchObject({code: 125, stdout: '', stderr: `ctr: image "${WHITED_USER}": no user "app" in its /etc/passwd\n`})
    const dashU = await f.cli(ns, ['containers', 'start', '-a', '--rm', '-u', 'app', 'u-whited', WHITED])
    expect(dashU).toMatchObject({code: 125, stdout: '', stderr: `ctr: no user "app" in image "${WHITED}" (its /etc/passwd)\n`})
    // Numbers need no passwd; what the container sees: no /etc/passwd at all.
    const numeric = await f.cli(ns, [
      'containers',
      'start',
      '-a',
      '--rm',
      '-u',
      '7:8',
      'u-whited',
      WHITED,
      'sh',
      '-c',
      `${IDS}; test -e /etc/passwd || echo no passwd`,
    ])
    expect(numeric).toMatchObject({code: 0, stdout: '7:8\nno passwd\n', stderr: ''})
    expect((await f.go(ns, ['containers', 'ls', '-q'])).stdout.trim().split('\n').sort()).toEqual(['u-app', 'u-bundle', 'u-linked'])
  })
})
