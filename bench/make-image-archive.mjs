#!/usr/bin/env node
// Writes an OCI image archive for bench/image-import.sh: LAYERS gzip-compressed layers (random bytes, so
// they stay about their size compressed) adding up to about MB MiB, a config with their diff IDs, one
// manifest, index.json naming the image; the tar itself is not compressed (Go ctr 1.6 cannot read a
// gzipped archive).
//
//   node bench/make-image-archive.mjs OUT.tar NAME [MB] [LAYERS]
import {execFileSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync, constants} from 'node:zlib'

const [out, name, mb = '200', count = '5'] = process.argv.slice(2)
if (!out || !name) throw new Error('usage: make-image-archive.mjs OUT.tar NAME [MB] [LAYERS]')
const work = mkdtempSync(join(tmpdir(), 'ctr-bench-image-'))
try {
  const layout = join(work, 'layout')
  mkdirSync(join(layout, 'blobs', 'sha256'), {recursive: true})
  const sha = (b) => createHash('sha256').update(b).digest('hex')
  const blob = (bytes, mediaType) => {
    const hex = sha(bytes)
    writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes)
    return {mediaType, digest: `sha256:${hex}`, size: bytes.length}
  }
  // Layer sizes falling by 1/n: 5 layers of 200 MiB are about 67, 53, 40, 27, 13 MiB.
  const n = Number(count)
  const weights = Array.from({length: n}, (_, i) => n - i)
  const total = weights.reduce((a, b) => a + b, 0)
  const layers = []
  const diffIds = []
  for (const [i, w] of weights.entries()) {
    const dir = join(work, `layer${i}`)
    mkdirSync(join(dir, `data${i}`), {recursive: true})
    const bytes = Math.round((Number(mb) * 1024 * 1024 * w) / total)
    // A few files per layer, with some compressible text besides the random bytes.
    const files = 4
    for (let f = 0; f < files; f++) writeFileSync(join(dir, `data${i}`, `file${f}.bin`), randomBytes(Math.floor(bytes / files)))
    writeFileSync(join(dir, `data${i}`, 'notes.txt'), 'layer notes\n'.repeat(10_000))
    const tarPath = join(work, `layer${i}.tar`)
    execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', dir, '-cf', tarPath, '.'])
    const plain = readFileSync(tarPath)
    diffIds.push(`sha256:${sha(plain)}`)
    layers.push(blob(gzipSync(plain, {level: constants.Z_BEST_SPEED}), 'application/vnd.oci.image.layer.v1.tar+gzip'))
    rmSync(dir, {recursive: true})
    rmSync(tarPath)
  }
  const config = blob(
    Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', config: {Cmd: ['/bin/sh']}, rootfs: {type: 'layers', diff_ids: diffIds}})),
    'application/vnd.oci.image.config.v1+json',
  )
  const manifest = blob(
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers})),
    'application/vnd.oci.image.manifest.v1+json',
  )
  const tag = name.replace(/^.*:/, '')
  writeFileSync(join(layout, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [{...manifest, annotations: {'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag}}]}))
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  execFileSync('tar', ['-C', layout, '-cf', out, 'oci-layout', 'index.json', 'blobs'])
  process.stdout.write(`${out}: ${layers.length} layers, ${(layers.reduce((a, l) => a + l.size, 0) / 1024 / 1024).toFixed(1)} MiB compressed\n`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
