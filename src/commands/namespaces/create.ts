import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {write} from '../../cli/output/print'
import {createNamespace, type NamespaceInfo, parseLabels} from '../../lib/namespaces/namespaces'

export default class NamespacesCreate extends BaseCommand<typeof NamespacesCreate> {
  static args = {
    name: Args.string({description: 'namespace name (letters, digits and single . _ - between them)', required: true}),
  }
  static description = `Create a namespace

Prints its name. containerd refuses a name that exists or breaks its identifier rule.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> namespaces create test', '<%= config.bin %> namespaces create --label team=web --label env=dev web']
  static flags = {
    label: Flags.string({char: 'l', description: 'label KEY=VALUE (repeatable)', multiple: true, multipleNonGreedy: true}),
  }

  async run(): Promise<NamespaceInfo> {
    const created = await createNamespace(this.client, this.args.name, parseLabels(this.flags.label ?? []))
    if (!this.jsonEnabled()) write(created.name)
    return created
  }
}
