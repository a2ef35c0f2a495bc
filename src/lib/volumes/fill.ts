/**
 * A new volume's first use by a container from an image: the image's content at the mount's path is copied
 * into it, as docker does (owners, modes, times, symlinks and hard links kept: cp -a).
 *
 * The image's root is its snapshot's layers. An overlay of several layers is mounted read-only (lowerdirs
 * only; the fresh snapshot's upper layer is empty) in a mount namespace of its own (unshare(1) --mount
 * --propagation private): the mount dies with that process, so nothing stays mounted on any exit path, a
 * SIGKILLed ctr included. One layer (or a bind mount) is its directory as it is. The path is resolved
 * inside that root (its symlinks, absolute or with .., never lead out of it), by node itself in the
 * namespace (process.execPath, the runtime ctr runs on), then cp(1) copies the directory's contents. Only
 * absolute paths of programs, none found through PATH.
 */
import {execFile} from 'node:child_process'
import {access} from 'node:fs/promises'
import {promisify} from 'node:util'

import type {Mount} from '../../gen/containerd/types/mount'
import {CtrError} from '../containerd/errors'

const UNSHARE = '/usr/bin/unshare'
const MOUNT = '/usr/bin/mount'
const CP = ['/usr/bin/cp', '/bin/cp']

/** The image's root filesystem as the copy sees it: a directory, or an overlay of read-only layers to mount. */
export type ImageRoot = {dir: string} | {lowerdirs: string[]}

/** From a prepared snapshot's mounts (overlay: its lowerdirs, top first; bind: its source). */
export function imageRoot(mounts: readonly Mount[]): ImageRoot {
  if (mounts.length !== 1) throw new CtrError('unimplemented', `cannot fill a volume from a snapshot of ${mounts.length} mounts`)
  const [m] = mounts
  if (m.type === 'overlay') {
    const lower = m.options.find((o) => o.startsWith('lowerdir='))
    const lowerdirs = lower ? lower.slice('lowerdir='.length).split(':') : []
    if (lowerdirs.length === 0) throw new CtrError('unimplemented', 'cannot fill a volume from an overlay snapshot without layers')
    return lowerdirs.length === 1 ? {dir: lowerdirs[0]} : {lowerdirs}
  }
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) return {dir: m.source}
  throw new CtrError('unimplemented', `cannot fill a volume from a snapshot mounted as "${m.type}"`)
}

/**
 * The helper run in the mount namespace (argv[1]: its JSON job): mounts the overlay if any, resolves the
 * path inside the root, copies the directory's contents. Prints "copied" or "none" (no directory there).
 */
const HELPER = `
'use strict'
const {execFileSync} = require('node:child_process')
const fs = require('node:fs')
const job = JSON.parse(process.argv[1])
let root = job.dir
if (job.lowerdirs) {
  execFileSync(job.mountProgram, ['-t', 'overlay', 'overlay', '-o', 'ro,lowerdir=' + job.lowerdirs.join(':'), job.mountpoint], {stdio: ['ignore', 'ignore', 'inherit']})
  root = job.mountpoint
}
let parts = job.path.split('/').filter(Boolean)
let at = ''
let links = 0
let found = true
while (parts.length > 0) {
  const part = parts.shift()
  if (part === '.') continue
  if (part === '..') { at = at.slice(0, at.lastIndexOf('/')); continue }
  const next = at + '/' + part
  let info
  try { info = fs.lstatSync(root + next) } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') { found = false; break }
    throw error
  }
  if (info.isSymbolicLink()) {
    if (++links > 40) throw new Error('too many levels of symbolic links in ' + job.path)
    const target = fs.readlinkSync(root + next)
    if (target.startsWith('/')) at = ''
    parts = target.split('/').filter(Boolean).concat(parts)
    continue
  }
  at = next
}
if (!found || !fs.lstatSync(root + at).isDirectory()) { process.stdout.write('none'); process.exit(0) }
execFileSync(job.cp, ['-a', '--', root + at + '/.', job.data], {stdio: ['ignore', 'ignore', 'inherit']})
process.stdout.write('copied')
`

const run = promisify(execFile)

/**
 * Copies the content of `path` in the image's root into the volume's `data` directory; `scratch` is an empty
 * private directory for the mount point. Resolves whether there was a directory to copy.
 */
export async function fillFromImage(root: ImageRoot, path: string, data: string, scratch: string, signal?: AbortSignal): Promise<boolean> {
  const cp = await firstExisting(CP)
  const job = {...root, path, data, mountpoint: scratch, mountProgram: MOUNT, cp}
  const helper = 'lowerdirs' in root ? [UNSHARE, '--mount', '--propagation', 'private', '--', process.execPath] : [process.execPath]
  try {
    // A clean environment: nothing of ctr's (NODE_OPTIONS) steers the helper.
    const {stdout} = await run(helper[0], [...helper.slice(1), '-e', HELPER, JSON.stringify(job)], {env: {}, signal, maxBuffer: 1024 * 1024})
    return stdout === 'copied'
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new CtrError('cancelled', 'interrupted', {cause: error})
    const stderr = String((error as {stderr?: string}).stderr ?? '').trim()
    const line = stderr.split('\n').find((l) => l.startsWith('Error:') || l.startsWith(MOUNT) || l.startsWith('cp:')) ?? stderr.split('\n')[0]
    throw new CtrError('internal', `cannot copy ${path} from the image into the volume: ${line || (error as Error).message}`, {cause: error})
  }
}

async function firstExisting(paths: readonly string[]): Promise<string> {
  for (const path of paths)
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path
  throw new CtrError('internal', `no cp program at ${paths.join(' or ')}`)
}
