/**
 * A new volume's first use by a container from an image: the image's content at the mount's path is copied
 * into it, as docker does (owners, modes, times, symlinks and hard links kept: cp -a).
 *
 * The image's root is the one ctr opened read-only for the start (containers/snapshot-root.ts: a layer
 * directory, or an overlay of the layers mounted and detached at once, only ctr's descriptor holding it).
 * The path is resolved inside that root (containers/in-root.ts: its symlinks, absolute or with .., never lead out
 * of it) to a held descriptor, and cp(1) copies the directory's contents from /proc/<ctr's PID>/fd/<that
 * descriptor>, the very directory found. Only absolute paths of programs, none found through PATH.
 */
import {execFile} from 'node:child_process'
import {access} from 'node:fs/promises'
import {promisify} from 'node:util'

import {CtrError} from '../containerd/errors'
import type {RootDir} from '../containers/in-root'

const CP = ['/usr/bin/cp', '/bin/cp']
const run = promisify(execFile)

/** Copies the content of `path` in the image's root into the volume's `data` directory. Resolves whether there was a directory to copy. */
export async function fillFromImage(root: RootDir, path: string, data: string, signal?: AbortSignal): Promise<boolean> {
  const cp = await firstExisting(CP)
  const found = await root.lookup(path, {follow: true}).catch((error: unknown) => {
    // Nothing there, or a file on the way: nothing to copy, as docker.
    if (error instanceof CtrError && (error.kind === 'not-found' || error.message.startsWith('not a directory'))) return undefined
    throw new CtrError('internal', `cannot copy ${path} from the image into the volume: ${(error as Error).message}`, {cause: error})
  })
  if (!found) return false
  try {
    if (!found.file?.stats.isDirectory()) return false
    // A clean environment: nothing of ctr's steers cp (LC_ALL=C: its messages as they are written here).
    await run(cp, ['-a', '--', `/proc/${process.pid}/fd/${found.file.handle.fd}/.`, data], {env: {LC_ALL: 'C'}, signal, maxBuffer: 1024 * 1024})
    return true
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new CtrError('cancelled', 'interrupted', {cause: error})
    const line = String((error as {stderr?: string}).stderr ?? '')
      .trim()
      .split('\n')[0]
    throw new CtrError('internal', `cannot copy ${path} from the image into the volume: ${line || (error as Error).message}`, {cause: error})
  } finally {
    await found.close()
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
