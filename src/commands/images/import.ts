import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {CompletionHints} from '../../cli/completion'
import {importText} from '../../cli/output/progress'
import {type ImportedImage, importImages} from '../../lib/images/import'
import {DEFAULT_SNAPSHOTTER} from '../../lib/images/unpack'

export default class ImagesImport extends BaseCommand<typeof ImagesImport> {
  /** Go ctr's names for it. */
  static hiddenAliases = goNames('images', ['import'], ['images:import'])
  static args = {
    file: Args.string({description: 'image archive (OCI layout or docker save tar, plain or gzip); - for stdin', required: true}),
  }
  static completion: CompletionHints = {files: ['file']}
  static description = `Import images from an archive

Reads an OCI image layout or a 'docker save' archive, plain or gzip-compressed, from FILE or stdin (-), in one pass. Prints the name of each image imported.

Names: an image named in the archive by io.containerd.image.name keeps that name; an OCI ref.name that is only a tag becomes BASE:tag with --base-name BASE (then only images under BASE are imported), else import-YYYY-MM-DD:tag; docker save's RepoTags become docker.io/... names. --index-name also keeps the archive's index as an image.

Only the blobs of this machine's platform are kept (or --platform's, or every platform with --all-platforms), and the image is unpacked into the snapshotter for that platform unless --no-unpack. Blobs containerd has already are not sent again, and layers already unpacked are kept.

Everything is written under a lease: an import that fails or is interrupted leaves no image and nothing that containerd's garbage collector keeps.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> images import busybox.tar',
    '<%= config.bin %> images import - < busybox.tar.gz',
    '<%= config.bin %> images import --base-name example.com/app oci-layout.tar.gz',
    '<%= config.bin %> images import --platform linux/arm64 --no-unpack multi.tar',
  ]
  static flags = {
    'all-platforms': Flags.boolean({description: 'import the content of every platform in the archive'}),
    'base-name': Flags.string({description: 'name for tag-only OCI refs (BASE:tag); import only images named under it'}),
    'compress-blobs': Flags.boolean({
      description: "gzip the uncompressed layers of a docker save archive (as Go ctr's flag; the layer digests differ from Go's)",
    }),
    'index-name': Flags.string({description: "also keep the archive's index as an image of this name"}),
    'no-unpack': Flags.boolean({description: 'do not unpack the images into the snapshotter'}),
    platform: Flags.string({description: "import and unpack this platform (os/arch[/variant]) instead of this machine's"}),
    snapshotter: Flags.string({description: `snapshotter to unpack into [default: ${DEFAULT_SNAPSHOTTER}]`, env: 'CONTAINERD_SNAPSHOTTER'}),
  }

  async run(): Promise<ImportedImage[]> {
    const {args, flags} = this
    const spinner = this.ux.spinner('reading the archive')
    let images: ImportedImage[]
    try {
      images = await importImages(this.client, {
        source: args.file,
        baseName: flags['base-name'],
        indexName: flags['index-name'],
        platform: flags.platform,
        allPlatforms: flags['all-platforms'],
        snapshotter: flags.snapshotter,
        unpack: !flags['no-unpack'],
        compressBlobs: flags['compress-blobs'],
        signal: this.signal,
        onProgress: (event) => (spinner.text = importText(event)),
      })
    } finally {
      spinner.stop()
    }
    for (const image of images) this.ux.log(image.name)
    return images
  }
}
