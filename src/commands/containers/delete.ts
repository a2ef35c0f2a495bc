import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {deleteContainer} from '../../lib/containers/containers'
import {usageError} from '../../lib/containerd/errors'
import {deleteExec, type DeleteExecResult} from '../../lib/tasks/exec-exits'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'

export default class ContainersDelete extends BaseCommand<typeof ContainersDelete> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('containers', ['rm', 'del', 'delete', 'remove'], ['containers:delete', 'containers:rm'])
  static aliases = ['containers:rm']
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Delete stopped containers (with --force, running ones too)

Prints each deleted ID. A container whose task has exited is deleted with its task record; one that is running or paused needs --force (SIGKILL, then delete). The log file of a detached start goes too, unless --keep-log. With several IDs, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.

Every stopped container (xargs -r runs nothing when none is stopped; $(...) would leave delete without an ID):
  ctr containers -q --filter status=stopped | xargs -r ctr containers rm

With --exec-id NAME, the container stays and only that exec process goes: one that exited (kept by containerd, e.g. a detached exec of Go ctr) or ctr's record of it (ctr containers ps --all); a running one needs --force.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers delete redis',
    '<%= config.bin %> containers rm --force web worker',
    '<%= config.bin %> containers rm --exec-id backup redis',
  ]
  static flags = {
    'exec-id': Flags.string({description: 'delete this exec process of the container instead of the container', helpValue: 'NAME'}),
    force: Flags.boolean({char: 'f', description: 'kill (SIGKILL) a running container (or exec process) first'}),
    'keep-log': Flags.boolean({description: 'keep the log file of a detached start'}),
  }
  static strict = false

  async run(): Promise<Array<{id: string} | DeleteExecResult>> {
    const ids = positionalArgs(await this.parse(ContainersDelete), " (see 'ctr containers delete --help')")
    const execId = this.flags['exec-id']
    if (execId !== undefined) {
      if (ids.length !== 1) throw usageError(`--exec-id takes exactly one container ID, got ${ids.length}`)
      if (this.flags['keep-log']) throw usageError('--keep-log cannot be used with --exec-id: an exec process has no log file of its own')
      const deleted = await deleteExec(this.client, ids[0], execId, {force: this.flags.force})
      this.ux.log(deleted.execId)
      return [deleted]
    }
    const {results, failures} = await forEachId(ids, (id) => deleteContainer(this.client, id, {force: this.flags.force, keepLog: this.flags['keep-log']}), {
      signal: this.signal,
      onResult: (deleted) => this.ux.log(deleted.id),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
