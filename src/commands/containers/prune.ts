import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {reportFailures} from '../../cli/for-each-id'
import {parseContainerFilters} from '../../lib/containers/filters'
import {pruneContainers} from '../../lib/containers/prune'

export default class ContainersPrune extends BaseCommand<typeof ContainersPrune> {
  static description = `Delete every stopped container of the namespace

A container is stopped when its task has exited, or it has no task and ctr saw it exit; running, paused and created ones (never started: no task) are kept, except those a ctr killed mid-start left (its process gone): they go with their snapshots. Each container's log file goes with it (unless --keep-log). Also removed: the leases and stdio FIFO directories of ctr processes that were killed (SIGKILL) before they could remove them. Prints each deleted ID; failures are reported on stderr and make ctr exit non-zero. --filter takes what 'ctr containers --filter' takes.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers prune',
    '<%= config.bin %> containers prune --filter label=app=web',
    '<%= config.bin %> -n test containers prune --json',
  ]
  static flags = {
    filter: Flags.string({char: 'f', description: 'only containers matching KEY=VALUE (repeatable)', multiple: true, multipleNonGreedy: true}),
    'keep-log': Flags.boolean({description: 'keep the log files of the deleted containers'}),
  }

  async run(): Promise<Array<{id: string}>> {
    const {docker, alternatives} = parseContainerFilters(this.flags.filter ?? [])
    const {deleted, failures} = await pruneContainers(this.client, {
      filters: docker,
      where: alternatives,
      keepLogs: this.flags['keep-log'],
      onDeleted: (id) => this.ux.log(id),
    })
    process.exitCode = reportFailures(failures)
    return deleted.map((id) => ({id}))
  }
}
