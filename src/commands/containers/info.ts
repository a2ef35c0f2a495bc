import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {toJson} from '../../cli/output/streams'
import {positionalArgs} from '../../cli/positional-args'
import {type ContainerDetails, inspectContainer} from '../../lib/containers/info'

export default class ContainersInfo extends BaseCommand<typeof ContainersInfo> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('containers', ['info'], ['containers:info'])
  static aliases = ['containers:inspect']
  static args = {
    id: Args.string({description: 'container ID (several may be given)', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Print everything containerd holds about a container, as JSON

With several IDs, one JSON object per container in the order given (a stream jq reads as such; --json gives a list); an unknown one is reported on stderr and the others are still printed.

The container record (labels, image, runtime and its options, snapshotter, snapshot key, created and updated times, extensions), its OCI spec decoded, the log file of a detached start, and its task's state (null without a task), as Go ctr's 'containers info' shows them (in camelCase).`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers info redis',
    '<%= config.bin %> containers info redis | jq .spec.process.args',
    '<%= config.bin %> containers info web worker | jq -r .task.status',
  ]
  static strict = false

  async run(): Promise<ContainerDetails | ContainerDetails[]> {
    const ids = positionalArgs(await this.parse(ContainersInfo), " (see 'ctr containers info --help')")
    const {results, failures} = await forEachId(ids, (id) => inspectContainer(this.client, id), {
      signal: this.signal,
      onResult: (details) => this.ux.log(toJson(details)),
    })
    // One ID keeps Go ctr's shape: the object, or the error; several are a list.
    if (new Set(ids).size === 1) {
      if (failures.length > 0) throw failures[0].error
      return results[0]
    }
    process.exitCode = reportFailures(failures)
    return results
  }
}
