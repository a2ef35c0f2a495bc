import {BaseCommand} from '../cli/base-command'
import {CLIENT_VERSION, getVersion, type VersionInfo} from '../lib/version'

export default class Version extends BaseCommand<typeof Version> {
  static description = 'Print the client version and the version of the containerd it talks to'
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> version', '<%= config.bin %> --address /tmp/ctr-containerd/containerd.sock version --json']

  static multiNode = true

  async run(): Promise<VersionInfo | {client: VersionInfo['client']; servers: Array<VersionInfo['server'] & {node: string}>}> {
    const client = {version: CLIENT_VERSION, node: process.version}
    const clientLines = ['Client:', `  Version:  ${client.version}`, `  Node:     ${client.node}`, '']
    // As Go ctr: the client's part first, so a daemon that is down still leaves it printed before the error.
    this.ux.log(clientLines.join('\n') + '\n')
    if (this.severalNodes) {
      const servers = (await this.forEachNode((c) => getVersion(c))).map(({node, result}) => ({node, ...result.server}))
      this.ux.object(() => servers.flatMap((s) => [`Server (${s.node}):`, `  Version:  ${s.version}`, `  Revision: ${s.revision}`]))
      return {client, servers}
    }
    const info = await getVersion(this.client)
    this.ux.object(() => ['Server:', `  Version:  ${info.server.version}`, `  Revision: ${info.server.revision}`])
    return info
  }
}
