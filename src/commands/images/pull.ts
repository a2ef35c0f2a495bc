import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import {registryFlags, registryOptions} from '../../cli/registry-flags'
import {formatBytes} from '../../cli/output/bytes'
import {DEFAULT_SNAPSHOTTER} from '../../lib/images/unpack'
import {type PulledImage, pullImage} from '../../lib/registry/pull'
import {parseReference} from '../../lib/registry/reference'

export default class ImagesPull extends BaseCommand<typeof ImagesPull> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['pull'], ['images:pull'])
  static args = {
    ref: Args.string({description: 'image reference: [HOST[:PORT]/]NAME[:TAG|@sha256:DIGEST] (docker.io and library/ by default)', required: true}),
  }
  static description = `Pull an image from a registry

Fetches the image's manifest (or index, choosing this machine's platform, --platform's, or every one with --all-platforms), its config and layers into containerd's content store, digests checked; layers come --max-concurrent-downloads at a time, and blobs containerd has are not fetched again. Each layer is unpacked into the snapshotter (unless --no-unpack) as soon as it and those below it are in, while the others download; then the image record is created or updated. Prints the image's name.

Everything is written under a lease: a pull that fails or is interrupted leaves no image and nothing containerd's garbage collector keeps.

Credentials: --user USER[:PASSWORD] (without the password, it is read from stdin or asked for without echo), else those of ~/.docker/config.json for the registry; Basic and Bearer token challenges are answered.

Registry hosts, as containerd's tools read them: --hosts-dir (default /etc/containerd/certs.d) holds HOST[:PORT]/hosts.toml (or _default/) naming mirrors, tried in order for what their capabilities allow before the registry itself, with their CAs, client certificates and skip_verify; a host that fails passes the request to the next, and the error names each one tried. --tlscacert, --tlscert/--tlskey and --skip-verify apply to every host.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images pull docker.io/library/busybox:latest',
    '<%= config.bin %> images pull --plain-http 127.0.0.1:5000/app:1',
    '<%= config.bin %> images pull --platform linux/arm64 --no-unpack busybox',
    '<%= config.bin %> images pull --user alice registry.example.com/app:1 < password.txt',
    '<%= config.bin %> images pull --hosts-dir /etc/containerd/certs.d docker.io/library/alpine:3.20',
    '<%= config.bin %> images pull --tlscacert ca.pem registry.internal:5000/app:1',
  ]
  static flags = {
    'all-platforms': Flags.boolean({description: 'fetch the content of every platform'}),
    'max-concurrent-downloads': Flags.integer({description: 'layers fetched at once', default: 3, min: 1}),
    'no-unpack': Flags.boolean({description: 'do not unpack the image into the snapshotter'}),
    platform: Flags.string({description: "fetch and unpack this platform (os/arch[/variant]) instead of this machine's"}),
    snapshotter: Flags.string({description: `snapshotter to unpack into [default: ${DEFAULT_SNAPSHOTTER}]`, env: 'CONTAINERD_SNAPSHOTTER'}),
    ...registryFlags,
  }

  async run(): Promise<PulledImage> {
    const {args, flags} = this
    const registry = await registryOptions(flags, parseReference(args.ref).domain)
    const display = this.ux.transfer()
    const started = Date.now()
    let image: PulledImage | undefined
    try {
      image = await pullImage(this.client, {
        ref: args.ref,
        platform: flags.platform,
        allPlatforms: flags['all-platforms'],
        snapshotter: flags.snapshotter,
        unpack: !flags['no-unpack'],
        maxConcurrentDownloads: flags['max-concurrent-downloads'],
        ...registry,
        signal: this.signal,
        onProgress: (event) => {
          if (event.phase === 'blob') display.blob(event)
          else if (event.phase === 'unpack') display.note(`unpacking ${event.image}: layer ${Math.min(event.layer + 1, event.layers)} of ${event.layers}`)
          else display.note(`resolved ${event.name} to ${event.digest}`)
        },
      })
    } finally {
      display.stop(image && summary(image, Date.now() - started))
    }
    this.ux.log(image.name)
    return image
  }
}

function summary(image: PulledImage, ms: number): string {
  const seconds = ms / 1000
  const unpacked = image.unpacked ? `, unpacked ${image.unpacked.platform} (${image.unpacked.applied} layer(s) applied)` : ''
  return `pulled ${image.target.digest}: ${image.fetched.blobs} of ${image.blobs} blob(s) fetched, ${formatBytes(image.fetched.bytes)} in ${seconds.toFixed(1)} s (${formatBytes(image.fetched.bytes / Math.max(seconds, 0.001))}/s)${unpacked}`
}
