import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {positionalArgs} from '../../cli/positional-args'
import {createNamespace, type NamespaceInfo, parseLabels} from '../../lib/namespaces/namespaces'

export default class NamespacesCreate extends BaseCommand<typeof NamespacesCreate> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('namespaces', ['create', 'c'], ['namespaces:create'])
  static args = {
    name: Args.string({description: 'namespace name (letters, digits and single . _ - between them)', required: true}),
    labels: Args.string({description: 'labels KEY=VALUE, as Go ctr namespaces create takes them (same as --label)'}),
  }
  static description = `Create a namespace

Prints its name. containerd refuses a name that exists or breaks its identifier rule.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> namespaces create test',
    '<%= config.bin %> namespaces create --label team=web --label env=dev web',
    '<%= config.bin %> namespaces create web team=web env=dev',
  ]
  static flags = {
    label: Flags.string({char: 'l', description: 'label KEY=VALUE (repeatable)', multiple: true, multipleNonGreedy: true}),
  }

  static strict = false
  static usage = 'namespaces create [--label KEY=VALUE]... NAME [KEY=VALUE...]'

  async run(): Promise<NamespaceInfo> {
    const labels = positionalArgs(await this.parse(NamespacesCreate), " (see 'ctr namespaces create --help')").slice(1)
    const created = await createNamespace(this.client, this.args.name, parseLabels([...(this.flags.label ?? []), ...labels]))
    this.ux.log(created.name)
    return created
  }
}
