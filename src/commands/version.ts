import {BaseCommand} from '../cli/base-command'
import {CLIENT_VERSION, getVersion, type VersionInfo} from '../lib/version'

export default class Version extends BaseCommand<typeof Version> {
  static description = 'Print the client version and the version of the containerd it talks to'
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> version', '<%= config.bin %> --address /tmp/ctr-containerd/containerd.sock version --json']

  async run(): Promise<VersionInfo> {
    const client = {version: CLIENT_VERSION, node: process.version}
    const clientLines = ['Client:', `  Version:  ${client.version}`, `  Node:     ${client.node}`, '']
    // As Go ctr: the client's part first, so a daemon that is down still leaves it printed before the error.
    this.ux.log(clientLines.join('\n') + '\n')
    const info = await getVersion(this.client)
    this.ux.object(() => ['Server:', `  Version:  ${info.server.version}`, `  Revision: ${info.server.revision}`])
    return info
  }
}
