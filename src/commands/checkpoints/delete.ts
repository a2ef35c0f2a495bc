import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {deleteCheckpoint} from '../../lib/checkpoints/store'
import {usageError} from '../../lib/containerd/errors'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'

export default class CheckpointsDelete extends BaseCommand<typeof CheckpointsDelete> {
  static aliases = ['checkpoints:rm']
  static args = {
    id: Args.string({description: 'container ID', required: true}),
    name: Args.string({description: 'checkpoint name (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Delete checkpoints of a container

Prints each deleted name. With several names, ctr keeps going past a failure, reports each on stderr and
exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> checkpoints delete redis test', '<%= config.bin %> checkpoints rm redis test test2']
  static strict = false

  async run(): Promise<Array<{container: string; name: string}>> {
    const hint = " (see 'ctr checkpoints delete --help')"
    const [id, ...names] = positionalArgs(await this.parse(CheckpointsDelete), hint)
    if (names.length === 0) throw usageError(`missing argument NAME${hint}`)
    const {results, failures} = await forEachId(names, (name) => deleteCheckpoint(this.client, id, name), {
      signal: this.signal,
      onResult: (deleted) => this.ux.log(deleted.name),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
