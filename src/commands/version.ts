import {BaseCommand} from '../cli/base-command'
import {printObject} from '../cli/output/print'
import {getVersion, type VersionInfo} from '../lib/version'

export default class Version extends BaseCommand<typeof Version> {
  static description = 'Print the client version and the version of the containerd it talks to'
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> version', '<%= config.bin %> --address /tmp/ctr-containerd/containerd.sock version --json']

  async run(): Promise<VersionInfo> {
    const info = await getVersion(this.client)
    printObject({json: this.jsonEnabled()}, () => [
      'Client:',
      `  Version:  ${info.client.version}`,
      `  Node:     ${info.client.node}`,
      '',
      'Server:',
      `  Version:  ${info.server.version}`,
      `  Revision: ${info.server.revision}`,
    ])
    return info
  }
}
