import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {goNames} from '../../cli/go-names'
import {usageError} from '../../lib/containerd/errors'
import {copy, type CopyResult, parseCopyEnd} from '../../lib/cp/copy'

export default class ContainersCp extends BaseCommand<typeof ContainersCp> {
  /** Go ctr's topic spellings (`ctr c cp`), as docker's `docker container cp`. */
  static hiddenAliases = goNames('containers', ['cp'], ['containers:cp'])
  static args = {
    src: Args.string({description: 'ID:PATH in a container, a host path, or - (a tar stream on stdin)', required: true}),
    dest: Args.string({description: 'ID:PATH in a container, a host path, or - (a tar stream on stdout)', required: true}),
  }
  static completion: CompletionHints = {files: ['src', 'dest']}
  static description = `Copy files between a container and the host, as docker cp does

SRC a file: DEST is that file (created, or overwritten), or an existing directory it goes into. SRC a directory: DEST is created as a copy of it, or, when DEST is a directory, it goes into it under its own name; SRC/. copies only what it holds. DEST's parent must exist; DEST/ for a file must be an existing directory. '-' as DEST writes SRC as a tar stream to stdout; '-' as SRC unpacks a tar stream (plain or gzip) from stdin into the DEST directory.

A running (or paused) container is reached through its process's root; a stopped or created one through its snapshot, which ctr mounts privately and never leaves mounted, or a bundle's absolute root path. Paths in the container are resolved inside it: a symlink or .. never leads out of its root, for reading or writing. Modes, mtimes, symlinks and hard links are kept; devices, FIFOs and sockets are skipped. Files copied in belong to the container's root user, files copied out to you, unless --archive keeps the numeric owners (a tar stream always has them).`
  static examples = [
    '<%= config.bin %> containers cp web:/etc/nginx/nginx.conf ./nginx.conf',
    '<%= config.bin %> containers cp ./site/. web:/usr/share/nginx/html',
    '<%= config.bin %> containers cp db:/var/lib/data - | tar -tv',
    '<%= config.bin %> containers cp - web:/etc/app < conf.tar',
  ]
  static flags = {
    archive: Flags.boolean({char: 'a', description: 'keep numeric owners (uid, gid) as they are'}),
    'follow-link': Flags.boolean({char: 'L', description: 'follow SRC when it is a symbolic link'}),
  }
  static usage = 'containers cp [-a] [-L] ID:PATH HOSTPATH|-  or  HOSTPATH|- ID:PATH'

  async run(): Promise<CopyResult> {
    const {src, dest} = this.args
    const from = parseCopyEnd(src)
    const to = parseCopyEnd(dest)
    if (from.kind === 'stream' && to.kind === 'stream') throw usageError("'-' can be SRC or DEST, not both")
    if (to.kind === 'stream' && this.ux.isTerminal('stdout'))
      throw usageError('refusing to write a tar stream to a terminal: redirect stdout, or give a HOSTPATH')
    const result = await copy(this.client, from, to, {
      followLink: this.flags['follow-link'],
      archive: this.flags.archive,
      signal: this.signal,
      stdin: process.stdin,
      write: writeStdout,
    })
    if (result.skipped > 0) this.ux.warn(`${result.skipped} special file(s) (devices, FIFOs, sockets) not copied`)
    return result
  }
}

function writeStdout(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())))
}
