/**
 * `cp` between a container and the host, with docker cp's rules (docs.docker.com/reference/cli/docker/
 * container/cp): SRC a file → DEST a file (created or overwritten) or into an existing directory under its
 * own name; SRC a directory → DEST created as a copy of it, or, if DEST is a directory, copied into it under
 * its own name (`SRC/.`: its contents only); DEST's parent must exist; a file never replaces a directory. A
 * `-` DEST writes SRC as a tar stream; a `-` SRC unpacks a tar stream into the DEST directory.
 *
 * Both ends are directories held open (containers/in-root.ts): the container's root (container-root.ts) and the
 * host's `/`; one packs (tar.ts), the other unpacks. Owners: the container's root user for what comes in and
 * ctr's own user for what goes out, as docker; `archive` keeps the numeric owners. A tar stream always has
 * them.
 */
import type {Readable} from 'node:stream'

import type {ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {isIdentifier} from '../containerd/identifiers'
import {refuseOverSsh} from '../ssh/remote'
import {withContainerRoot} from './container-root'
import {type Found, RootDir} from '../containers/in-root'
import {packTree, unpackInto} from './tar'

export type CopyEnd = {kind: 'container'; id: string; path: string} | {kind: 'host'; path: string} | {kind: 'stream'}

/**
 * `ID:PATH`, `-`, or a host path (one that starts with `/` or `.`, or has no `ID:` before a `/`, as docker:
 * write `./a:b` for a host file named a:b).
 */
export function parseCopyEnd(text: string): CopyEnd {
  if (text === '-') return {kind: 'stream'}
  const colon = text.indexOf(':')
  if (colon > 0 && !text.startsWith('/') && !text.startsWith('.') && !text.slice(0, colon).includes('/')) {
    const id = text.slice(0, colon)
    const path = text.slice(colon + 1)
    if (!isIdentifier(id)) throw new CtrError('usage', `invalid container ID "${id}" in "${text}"`)
    if (!path) throw new CtrError('usage', `no path after "${id}:" (give ${id}:/PATH)`)
    return {kind: 'container', id, path}
  }
  if (!text) throw new CtrError('usage', 'an empty path')
  return {kind: 'host', path: text}
}

export interface CopyOptions {
  /** Follow SRC when it is a symlink (docker's -L). */
  followLink?: boolean
  /** Keep numeric owners (docker's -a); otherwise the destination side's user. */
  archive?: boolean
  signal?: AbortSignal
  /** A `-` SRC: the tar stream. */
  stdin?: Readable
  /** A `-` DEST: where the tar stream goes, a chunk at a time. */
  write?: (chunk: Buffer) => Promise<void>
}

export interface CopyResult {
  /** The container and which way. */
  id: string
  direction: 'in' | 'out'
  /** Special files (devices, FIFOs, sockets) that were not copied. */
  skipped: number
}

/** Copies between SRC and DEST (one of them `ID:PATH`). */
export async function copy(client: ContainerdClient, src: CopyEnd, dest: CopyEnd, options: CopyOptions = {}): Promise<CopyResult> {
  refuseOverSsh(client, 'containers cp', "the container's root is reached through /proc or its snapshot's mounts")
  if (src.kind === 'container' && dest.kind === 'container')
    throw new CtrError('usage', 'copying between containers is not supported: one side must be a host path or -')
  if (src.kind === 'container') return copyOut(client, src, dest as Exclude<CopyEnd, {kind: 'container'}>, options)
  if (dest.kind === 'container') return copyIn(client, src, dest, options)
  throw new CtrError('usage', 'one of SRC and DEST must be ID:PATH (a container and a path in it)')
}

const endsWithDot = (path: string) => path === '.' || path.endsWith('/.')
const endsWithSlash = (path: string) => path.endsWith('/')

async function copyOut(
  client: ContainerdClient,
  src: {id: string; path: string},
  dest: {kind: 'host'; path: string} | {kind: 'stream'},
  options: CopyOptions,
): Promise<CopyResult> {
  return withContainerRoot(client, src.id, async (root) => {
    const found = await requireSource(root, src.path, options.followLink)
    try {
      const dir = found.file!.stats.isDirectory()
      const contents = dir && (endsWithDot(src.path) || found.name === '')
      if (dest.kind === 'stream') {
        if (!options.write) throw new CtrError('internal', 'no output for the tar stream')
        const {stream, done} = packTree(found, contents ? undefined : found.name, options.signal)
        try {
          for await (const chunk of stream) {
            options.signal?.throwIfAborted()
            await options.write(chunk as Buffer)
          }
        } finally {
          stream.destroy()
        }
        const {skipped} = await done
        return {id: src.id, direction: 'out', skipped}
      }
      const host = await RootDir.open('/', 'the host', {protectedSymlinks: true})
      try {
        const owner = options.archive ? undefined : {uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0}
        // Without -a the files become the user's (root's, mostly): a set-user-ID file of the image must not
        // become a set-user-ID-root file of the host, so those bits go (-a keeps owners and bits as they are).
        const skipped = await copyInto(host, absolute(dest.path), found, contents, {owner, dropSetId: !options.archive, signal: options.signal})
        return {id: src.id, direction: 'out', skipped}
      } finally {
        await host.close()
      }
    } finally {
      await found.close()
    }
  })
}

async function copyIn(
  client: ContainerdClient,
  src: {kind: 'host'; path: string} | {kind: 'stream'},
  dest: {id: string; path: string},
  options: CopyOptions,
): Promise<CopyResult> {
  const owner = options.archive ? undefined : {uid: 0, gid: 0}
  if (src.kind === 'stream') {
    if (!options.stdin) throw new CtrError('internal', 'no input for the tar stream')
    const stdin = options.stdin
    return withContainerRoot(client, dest.id, async (root) => {
      const found = await root.lookup(dest.path, {follow: true})
      try {
        if (!found.file?.stats.isDirectory()) {
          throw new CtrError(
            found.file ? 'usage' : 'not-found',
            `${found.file ? 'not a directory' : 'no such directory'} in ${root.label}: ${dest.path} (a tar stream is unpacked into a directory)`,
          )
        }
        const {skipped} = await unpackInto(root, found.path, stdin, {owner, signal: options.signal, label: 'stdin'})
        return {id: dest.id, direction: 'in', skipped}
      } finally {
        await found.close()
      }
    })
  }
  const host = await RootDir.open('/', 'the host', {protectedSymlinks: true})
  try {
    const path = absolute(src.path)
    const found = await requireSource(host, path, options.followLink)
    try {
      const contents = found.file!.stats.isDirectory() && (endsWithDot(path) || found.name === '')
      return await withContainerRoot(client, dest.id, async (root) => {
        const skipped = await copyInto(root, dest.path, found, contents, {owner, signal: options.signal})
        return {id: dest.id, direction: 'in', skipped}
      })
    } finally {
      await found.close()
    }
  } finally {
    await host.close()
  }
}

/** What SRC names, or a not-found error naming it. */
async function requireSource(root: RootDir, path: string, follow?: boolean): Promise<Found> {
  const found = await root.lookup(path, {follow})
  if (!found.file) {
    await found.close()
    throw new CtrError('not-found', `no such file or directory in ${root.label}: ${path}`)
  }
  return found
}

/** docker cp's destination rules (module comment), then SRC packed and unpacked there. */
async function copyInto(
  root: RootDir,
  destPath: string,
  src: Found,
  contents: boolean,
  options: {owner?: {uid: number; gid: number}; dropSetId?: boolean; signal?: AbortSignal},
): Promise<number> {
  const srcIsDir = src.file!.stats.isDirectory()
  const dest = await root.lookup(destPath, {follow: true})
  let dir: string
  let top: string | undefined
  try {
    if (dest.file?.stats.isDirectory()) {
      dir = dest.path
      top = contents ? undefined : src.name
    } else if (dest.file) {
      if (srcIsDir) throw new CtrError('usage', `cannot copy a directory to a file: ${destPath} in ${root.label} is not a directory`)
      dir = dest.dirPath
      top = dest.name
    } else {
      if (!srcIsDir && endsWithSlash(destPath))
        throw new CtrError('not-found', `no such directory in ${root.label}: ${destPath} (the destination directory must exist)`)
      dir = dest.dirPath
      top = dest.name
    }
  } finally {
    await dest.close()
  }
  const {stream, done} = packTree(src, top, options.signal)
  let packFailure: unknown
  done.catch((error: unknown) => (packFailure = error))
  try {
    const {skipped} = await unpackInto(root, dir, stream, {owner: options.owner, dropSetId: options.dropSetId, signal: options.signal, label: 'the copy'})
    return skipped + (await done).skipped
  } catch (error) {
    // The reading side's own failure says more than the archive it cut short.
    await new Promise((resolve) => setImmediate(resolve))
    throw packFailure ?? error
  } finally {
    stream.destroy()
  }
}

function absolute(path: string): string {
  if (path.startsWith('/')) return path
  const cwd = process.cwd()
  return `${cwd === '/' ? '' : cwd}/${path}`
}
