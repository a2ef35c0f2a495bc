import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {forEachId, reportFailures} from '../../cli/for-each-id'
import {goNames} from '../../cli/go-names'
import {escapeText} from '../../cli/output/escape'
import {positionalArgs} from '../../cli/positional-args'
import {type ImageInspection, inspectImage} from '../../lib/images/inspect'
import {formatBytes} from '../../cli/output/bytes'
import {DEFAULT_SNAPSHOTTER} from '../../lib/images/unpack'

export default class ImagesInspect extends BaseCommand<typeof ImagesInspect> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['inspect', 'info'], ['images:inspect', 'images:info'])
  static aliases = ['images:info']
  static args = {
    ref: Args.string({description: 'image(s), as ctr images lists them or short names (busybox)', required: true}),
  }
  static description = `Show what an image holds

For this machine's platform (or --platform's): the target, the manifest, the config (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, StopSignal, Labels), the history, the layers with their sizes, and whether the image is unpacked in the snapshotter. --json prints all of it, a list with one object per image; without it, a summary.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> images inspect busybox', '<%= config.bin %> images info --json --platform linux/arm64 example.com/app:1']
  static flags = {
    platform: Flags.string({description: "describe this platform's manifest (os/arch[/variant]) instead of this machine's"}),
    snapshotter: Flags.string({description: `snapshotter to look for the unpacked image in [default: ${DEFAULT_SNAPSHOTTER}]`, env: 'CONTAINERD_SNAPSHOTTER'}),
  }
  static strict = false

  async run(): Promise<ImageInspection[]> {
    const refs = positionalArgs(await this.parse(ImagesInspect), " (see 'ctr images inspect --help')")
    const {results, failures} = await forEachId(
      refs,
      (ref) => inspectImage(this.client, ref, {platform: this.flags.platform, snapshotter: this.flags.snapshotter, signal: this.signal}),
      {signal: this.signal, onResult: (info) => this.ux.log(summary(info))},
    )
    process.exitCode = reportFailures(failures)
    return results
  }
}

function summary(i: ImageInspection): string {
  const c = i.config
  const list = (v?: string[] | null) => (v && v.length > 0 ? v.map((s) => JSON.stringify(s)).join(' ') : '-')
  const rows: Array<[string, string]> = [
    ['Name', i.name],
    ['Target', `${i.target.digest} (${i.target.mediaType})`],
    ['Platform', `${i.platform}${i.platforms.length > 1 ? ` (of ${i.platforms.join(', ')})` : ''}`],
    ['Manifest', i.manifest.descriptor.digest],
    ['Config', c.digest],
    ['Created', c.created ?? '-'],
    ['Entrypoint', list(c.Entrypoint)],
    ['Cmd', list(c.Cmd)],
    ['WorkingDir', c.WorkingDir || '-'],
    ['User', c.User || '-'],
    ['Env', list(c.Env)],
    ['ExposedPorts', c.ExposedPorts ? Object.keys(c.ExposedPorts).join(' ') || '-' : '-'],
    ['StopSignal', c.StopSignal || '-'],
    [
      'Labels',
      c.Labels
        ? Object.entries(c.Labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || '-'
        : '-',
    ],
    ['History', `${i.history.length} entries`],
    ['Layers', `${i.layers.length}, ${formatBytes(i.size)} in all`],
    ...i.layers.map((l, n): [string, string] => [`  ${n + 1}`, `${l.digest} ${formatBytes(l.size)}`]),
    ['Unpacked', `${i.unpacked.unpacked ? 'yes' : 'no'} (${i.unpacked.snapshotter})`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length)) + 2
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${escapeText(v)}`).join('\n')
}
