import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {toJson} from '../../cli/output/streams'
import {type ContainerDetails, inspectContainer} from '../../lib/containers/info'

export default class ContainersInfo extends BaseCommand<typeof ContainersInfo> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('containers', ['info'], ['containers:info'])
  static aliases = ['containers:inspect']
  static args = {
    id: Args.string({description: 'container ID', required: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Print everything containerd holds about a container, as JSON

The container record (labels, image, runtime and its options, snapshotter, snapshot key, created and updated times, extensions), its OCI spec decoded, the log file of a detached start, and its task's state (null without a task), as Go ctr's 'containers info' shows them (in camelCase).`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> containers info redis', '<%= config.bin %> containers info redis | jq .spec.process.args']

  async run(): Promise<ContainerDetails> {
    const details = await inspectContainer(this.client, this.args.id)
    this.ux.log(toJson(details))
    return details
  }
}
