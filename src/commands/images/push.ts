import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {registryFlags, registryOptions} from '../../cli/registry-flags'
import {formatBytes} from '../../cli/output/bytes'
import {type PushedImage, pushImage} from '../../lib/registry/push'
import {parseReference} from '../../lib/registry/reference'

export default class ImagesPush extends BaseCommand<typeof ImagesPush> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['push'], ['images:push'])
  static args = {
    ref: Args.string({description: 'where to push: [HOST[:PORT]/]NAME[:TAG]', required: true}),
    local: Args.string({description: "the image in containerd's store [default: REF]"}),
  }
  static description = `Push an image to a registry

Uploads the image's config and layers that the registry does not have (asked first), then its manifests and index; REF names the result. LOCAL_REF names the image in containerd's store when it differs from REF. With --platform, only that platform's manifest is pushed, as REF. Prints the name and the digest pushed.

The push goes to the first host of the registry's hosts.toml (--hosts-dir, as for pull) with the push capability, else to the registry itself; --tlscacert, --tlscert/--tlskey and --skip-verify as for pull.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images push --plain-http 127.0.0.1:5000/app:1 docker.io/library/busybox:latest',
    '<%= config.bin %> images push --user alice registry.example.com/app:1',
    '<%= config.bin %> images push --tlscacert ca.pem registry.internal:5000/app:1',
  ]
  static flags = {
    'max-concurrent-uploads': Flags.integer({description: 'blobs uploaded at once', default: 3, min: 1}),
    platform: Flags.string({description: "push only this platform's manifest (os/arch[/variant])"}),
    ...registryFlags,
  }

  async run(): Promise<PushedImage> {
    const {args, flags} = this
    const registry = await registryOptions(flags, parseReference(args.ref).domain)
    const display = this.ux.transfer()
    const started = Date.now()
    let image: PushedImage | undefined
    try {
      image = await pushImage(this.client, {
        ref: args.ref,
        localRef: args.local,
        platform: flags.platform,
        maxConcurrentUploads: flags['max-concurrent-uploads'],
        ...registry,
        signal: this.signal,
        onProgress: (event) => display.blob(event),
      })
    } finally {
      const s = (Date.now() - started) / 1000
      display.stop(
        image &&
          `pushed ${image.target.digest}: ${image.uploaded.blobs} of ${image.blobs} blob(s) uploaded, ${formatBytes(image.uploaded.bytes)} in ${s.toFixed(1)} s`,
      )
    }
    this.ux.log(`${image.name} ${image.target.digest}`)
    return image
  }
}
