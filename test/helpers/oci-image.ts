/**
 * A tiny OCI image archive (one layer holding /hello.txt), for tests that need an image-based container
 * made the way other tools make them (`ctr images import` + `ctr containers create`) without a registry.
 */
import {createHash} from 'node:crypto'
import {execFile} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

/** Writes the archive to tarPath; `ctr images import --no-unpack tarPath` then names the image `name`. */
export async function makeOciImageTar(tarPath: string, name: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ctr-oci-image-'))
  try {
    const layout = join(work, 'layout')
    await mkdir(join(layout, 'blobs', 'sha256'), {recursive: true})
    const blob = async (data: Buffer, mediaType: string) => {
      const hex = createHash('sha256').update(data).digest('hex')
      await writeFile(join(layout, 'blobs', 'sha256', hex), data)
      return {mediaType, digest: `sha256:${hex}`, size: data.length}
    }
    const files = join(work, 'files')
    await mkdir(files)
    await writeFile(join(files, 'hello.txt'), 'hi\n')
    await promisify(execFile)('tar', ['-C', files, '-cf', join(work, 'layer.tar'), 'hello.txt'])
    const layer = await blob(await readFile(join(work, 'layer.tar')), 'application/vnd.oci.image.layer.v1.tar')
    const config = await blob(
      Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', config: {Cmd: ['/hello']}, rootfs: {type: 'layers', diff_ids: [layer.digest]}})),
      'application/vnd.oci.image.config.v1+json',
    )
    const manifest = await blob(
      Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer]})),
      'application/vnd.oci.image.manifest.v1+json',
    )
    const ref = {...manifest, annotations: {'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name}}
    await writeFile(join(layout, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [ref]}))
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
    await promisify(execFile)('tar', ['-C', layout, '-cf', tarPath, '.'])
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}
