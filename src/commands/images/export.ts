import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {goNames} from '../../cli/go-names'
import {positionalArgs} from '../../cli/positional-args'
import {usageError} from '../../lib/containerd/errors'
import {type ExportedImage, exportToFile, planExport, writeArchive} from '../../lib/images/export'

export default class ImagesExport extends BaseCommand<typeof ImagesExport> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['export'], ['images:export', 'images:save'])
  static aliases = ['images:save']
  static args = {
    file: Args.string({description: 'the archive to write; - for stdout (not a terminal)', required: true}),
    ref: Args.string({description: 'image(s) to export, as ctr images lists them or short names (busybox)', required: true}),
  }
  static completion: CompletionHints = {files: ['file']}
  static description = `Export images to an archive

Writes an OCI image layout tar (as Go ctr's images export) that also carries docker's manifest.json: ctr images import, Go ctr images import, docker load and skopeo (oci-archive: and docker-archive:) read it.

Only this machine's platform is exported (exactly: an amd64 machine does not take 386), or --platform's; --all-platforms exports every platform's blobs (each must be in the store). manifest.json names one manifest per image, the platform's. An image whose target is a single manifest is exported whatever its platform.

Blobs are streamed from containerd's content store, digests checked. FILE is written as a temporary beside it and renamed at the end: a failure or Ctrl-C leaves no partial file (and an existing FILE as it was).`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images export busybox.tar docker.io/library/busybox:latest',
    '<%= config.bin %> images save - busybox | gzip > busybox.tar.gz',
    '<%= config.bin %> images export --all-platforms multi.tar example.com/app:1 example.com/app:2',
  ]
  static flags = {
    'all-platforms': Flags.boolean({description: "export every platform's content"}),
    platform: Flags.string({description: "export this platform (os/arch[/variant]) instead of this machine's"}),
  }
  static strict = false
  static usage = 'images export [--platform P | --all-platforms] FILE|- REF...'

  async run(): Promise<ExportedImage[]> {
    const {flags} = this
    const [file, ...refs] = positionalArgs(await this.parse(ImagesExport), " (see 'ctr images export --help')")
    if (refs.length === 0) throw usageError("images export needs FILE and at least one image (see 'ctr images export --help')")
    const toStdout = file === '-'
    if (toStdout && this.jsonEnabled()) throw usageError('--json cannot be used when the archive goes to stdout (-)')
    if (toStdout && this.ux.isTerminal('stdout')) throw usageError('refusing to write an image archive to a terminal: redirect stdout, or give a FILE')
    const plan = await planExport(this.client, {refs, platform: flags.platform, allPlatforms: flags['all-platforms'], signal: this.signal})
    if (toStdout) await writeArchive(this.client, plan, writeStdout, this.signal)
    else await exportToFile(this.client, plan, file, this.signal)
    return plan.images
  }
}

function writeStdout(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())))
}
