/**
 * `ctr namespaces` (list, create, delete) against the real private containerd, checked with Go's ctr:
 * labels, -q and --json; containerd's refusals (an existing name, a bad name, a namespace that still holds a
 * container) as one line with nothing changed.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, inject, it} from 'vitest'

import {makeBundle} from '../helpers/bundle'
import {goCtr, uniqueName} from '../helpers/daemon'
import {makeOciImageTar} from '../helpers/oci-image'
import {removeNamespace} from '../helpers/leftovers'
import {runCli} from '../helpers/run-cli'
import {expectOneLineError} from './containers-fixture'

const {address} = inject('containerd')
const cli = (args: string[], namespace?: string) => runCli(args, {address, namespace})
const goNamespaces = async () => (await goCtr(address, ['namespaces', 'list', '-q'])).stdout.split('\n').filter(Boolean)
const a = uniqueName('it-ns-a')
const b = uniqueName('it-ns-b')
const busy = uniqueName('it-ns-busy')
const withImage = uniqueName('it-ns-img')
let dir: string | undefined

afterAll(async () => {
  for (const ns of [a, b]) await goCtr(address, ['namespaces', 'rm', ns])
  await removeNamespace(address, busy)
  await goCtr(address, ['-n', withImage, 'images', 'rm', '--sync', 'example.com/ns-test:1'])
  await goCtr(address, ['-n', withImage, 'content', 'prune', 'references'])
  await removeNamespace(address, withImage)
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('ctr namespaces', () => {
  it('create prints the name; the list shows it with its labels (table, -q, --json)', async () => {
    expect(await cli(['namespaces', 'create', '--label', 'team=web', '--label', 'env=dev', a])).toMatchObject({code: 0, stdout: `${a}\n`, stderr: ''})
    expect(await cli(['namespaces', 'create', b])).toMatchObject({code: 0, stdout: `${b}\n`})
    expect(await goNamespaces()).toEqual(expect.arrayContaining([a, b]))
    expect((await goCtr(address, ['namespaces', 'list'])).stdout).toMatch(new RegExp(`^${a}\\s+(env=dev,team=web|team=web,env=dev)\\s*$`, 'm'))

    const table = await cli(['namespaces'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^NAME\s+LABELS$/m)
    expect(table.stdout).toMatch(new RegExp(`^${a}\\s+(team=web,env=dev|env=dev,team=web)$`, 'm'))
    expect(table.stdout).toMatch(new RegExp(`^${b}\\s+-$`, 'm'))
    const quiet = (await cli(['namespaces', '-q'])).stdout.split('\n').filter(Boolean)
    expect(quiet).toEqual([...quiet].sort())
    expect(quiet).toEqual(expect.arrayContaining([a, b]))
    expect(quiet.sort()).toEqual((await goNamespaces()).sort())
    const json = JSON.parse((await cli(['namespaces', 'ls', '--json'])).stdout)
    expect(json).toEqual(expect.arrayContaining([{name: a, labels: {team: 'web', env: 'dev'}}, {name: b, labels: {}}]))
  })

  it('refuses an existing name and one containerd rejects, in one line, creating nothing', async () => {
    expectOneLineError(await cli(['namespaces', 'create', a]), new RegExp(`^ctr: namespace "${a}" already exists$`, 'm'))
    const before = await goNamespaces()
    expectOneLineError(await cli(['namespaces', 'create', 'Bad!name']), /^ctr: cannot create namespace "Bad!name": identifier "Bad!name" must match/m)
    expectOneLineError(await cli(['namespaces', 'create', '--label', '=x', 'fine']), /^ctr: invalid --label "=x"/m)
    expect(await goNamespaces()).toEqual(before)
  })

  it('rm refuses a namespace that still holds a container, saying so; deletes once it is empty', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctr-it-ns-'))
    const bundle = await makeBundle(join(dir, 'b'), ['true'])
    expect((await cli(['containers', 'start', '-a', 'left', bundle], busy)).code).toBe(0)
    expectOneLineError(await cli(['namespaces', 'rm', busy]), new RegExp(`^ctr: namespace "${busy}" must be empty, but it still has containers$`, 'm'))
    expect(await goNamespaces()).toContain(busy)
    expect((await cli(['containers', 'rm', 'left'], busy)).code).toBe(0)
    expect(await cli(['namespaces', 'delete', busy])).toMatchObject({code: 0, stdout: `${busy}\n`, stderr: ''})
    expect(await goNamespaces()).not.toContain(busy)
  })

  it('rm names images and content (blobs) too, in containerd\'s words', async () => {
    dir ??= await mkdtemp(join(tmpdir(), 'ctr-it-ns-'))
    await makeOciImageTar(join(dir, 'tiny.tar'), 'example.com/ns-test:1')
    const imported = await goCtr(address, ['-n', withImage, 'images', 'import', '--no-unpack', join(dir, 'tiny.tar')])
    expect(imported.code, imported.stderr).toBe(0)
    const result = await cli(['namespaces', 'rm', withImage])
    expectOneLineError(result, new RegExp(`^ctr: namespace "${withImage}" must be empty, but it still has .*images`, 'm'))
    expect(result.stderr).toMatch(/blobs/)
    expect(await goNamespaces()).toContain(withImage)
  })

  it('rm of several keeps going past an unknown one and exits non-zero', async () => {
    const result = await cli(['namespaces', 'rm', a, 'it-ns-no-such', b])
    expect(result).toMatchObject({code: 125, stdout: `${a}\n${b}\n`, stderr: 'ctr: namespace "it-ns-no-such" not found\n'})
    expect(await goNamespaces()).not.toContain(a)
    expect(await goNamespaces()).not.toContain(b)
  })
})
