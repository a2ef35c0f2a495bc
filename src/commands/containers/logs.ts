import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {CtrError, usageError} from '../../lib/containerd/errors'
import {exitOnOutputFailure} from '../../cli/output/streams'
import {watchStdoutReader} from '../../cli/output/reader-watch'
import {containerLog, logGaps, readLog} from '../../lib/logs/read'
import {getTask} from '../../lib/tasks/tasks'
import {waitContainer} from '../../lib/tasks/wait'

export default class ContainersLogs extends BaseCommand<typeof ContainersLogs> {
  static args = {
    id: Args.string({description: 'container ID', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Print the output of a detached container

A detached start keeps the container's stdout and stderr in a log file (see 'ctr containers start --help'); this prints it as written, both streams interleaved. With --follow, ctr keeps printing what the container writes until its task exits and then exits with the task's exit status (128+N if killed by signal N), or until Ctrl-C (130); a container without a task is printed and ctr exits 0.

The file holds no timestamps (containerd's shim writes the bytes as they come), so --since and --until are not supported. Containers started attached, with --no-log or by another tool have no log ctr knows of.`
  static examples = ['<%= config.bin %> containers logs redis', '<%= config.bin %> containers logs --tail 20 redis', '<%= config.bin %> containers logs -f job']
  static flags = {
    follow: Flags.boolean({char: 'f', description: 'keep printing new output until the task exits, then exit with its status'}),
    since: Flags.string({hidden: true}),
    tail: Flags.integer({description: 'print only the last N lines', helpValue: 'N', min: 0}),
    until: Flags.string({hidden: true}),
  }

  async run(): Promise<void> {
    const {args, flags} = this
    if (flags.since !== undefined || flags.until !== undefined) {
      throw usageError(
        `--${flags.since === undefined ? 'until' : 'since'} is not supported: the log file has no timestamps (containerd's shim writes plain output)`,
      )
    }
    const log = await containerLog(this.client, args.id)
    const path = log.files.at(-1)!
    exitOnOutputFailure() // `ctr containers logs ID | head`: 141, quietly
    let exited: Promise<{exitStatus: number}> | undefined
    if (flags.follow && (await getTask(this.client, args.id))) {
      watchStdoutReader() // a quiet container: `logs -f ID | head -1` ends when head does, not at the next line
      exited = waitContainer(this.client, args.id, {signal: this.signal})
      exited.catch(() => undefined) // awaited below
    }
    await readLog(path, {
      older: log.files.slice(0, -1),
      tail: flags.tail,
      follow: exited ? {until: exited} : undefined,
      write: writeStdout,
      signal: this.signal,
    })
    // A log with a gap says so, and a script sees it in the exit status (unless -f, which reports the task's).
    const gap = await logGaps(log)
    if (gap && !exited) throw new CtrError('data-loss', `the log of container "${args.id}" is incomplete: ${gap}`)
    if (gap) this.ux.warn(`the log of container "${args.id}" is incomplete: ${gap}`)
    if (exited) process.exitCode = (await exited).exitStatus
  }
}

function writeStdout(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())))
}
