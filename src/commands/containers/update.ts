import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {positionalArgs} from '../../cli/positional-args'
import {usageError} from '../../lib/containerd/errors'
import {parseRunSettings} from '../../lib/containers/run-options'
import {updateContainer, type UpdateResult} from '../../lib/tasks/update'

export default class ContainersUpdate extends BaseCommand<typeof ContainersUpdate> {
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Change the resource limits of containers, as docker update does

A running (or paused) container gets them at once (containerd's Tasks.Update, runc update); every container keeps them in its spec, so 'restart' and 'start ID' use them too ('containers info' shows them). A limit the runtime refuses (memory under what the container uses) changes nothing. Prints each ID. With several IDs, ctr keeps going past a failure, reports each on stderr and exits non-zero if any failed.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers update -m 256m redis', '<%= config.bin %> containers update --cpus 0.5 --pids-limit 100 web worker']
  static flags = {
    'cpu-shares': Flags.string({description: 'relative CPU weight (cgroup cpu.shares)', helpValue: 'N'}),
    cpus: Flags.string({description: 'CPUs the container may use, as a CFS quota (0.5, 2)', helpValue: 'N.N'}),
    memory: Flags.string({char: 'm', description: 'memory limit: 64m, 1g (k, m, g: powers of 1024; at least 6m)', helpValue: 'SIZE'}),
    'pids-limit': Flags.string({description: 'most processes the container may have (cgroup pids.max)', helpValue: 'N'}),
  }
  static strict = false

  async run(): Promise<UpdateResult[]> {
    const {flags} = this
    const settings = await parseRunSettings({memory: flags.memory, cpus: flags.cpus, cpuShares: flags['cpu-shares'], pidsLimit: flags['pids-limit']})
    if (Object.keys(settings).length === 0) throw usageError('nothing to update: give --memory, --cpus, --cpu-shares or --pids-limit')
    const ids = positionalArgs(await this.parse(ContainersUpdate), " (see 'ctr containers update --help')")
    const {results, failures} = await forEachId(ids, (id) => updateContainer(this.client, id, settings), {
      signal: this.signal,
      onResult: (updated) => this.ux.log(updated.id),
    })
    process.exitCode = reportFailures(failures)
    return results
  }
}
