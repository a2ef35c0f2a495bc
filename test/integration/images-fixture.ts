/**
 * Shared set-up of the images-* integration tests: namespaces of their own on the suite's containerd, a
 * temp dir for archives, Go's ctr on the same daemon as the reference, and what an import may leave in a
 * namespace (images, snapshots, content, leases, ingests) as Go ctr lists it.
 */
import {createReadStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {inject} from 'vitest'

import {goCtr, uniqueName} from '../helpers/daemon'
import {type RunOptions, runCli, spawnCli} from '../helpers/run-cli'

export interface ImagesFixture {
  address: string
  dir: string
  /** A fresh namespace name (each test that compares stores takes its own). */
  namespace(tag: string): string
  go(namespace: string, args: string[]): ReturnType<typeof goCtr>
  cli(namespace: string, args: string[], options?: RunOptions): ReturnType<typeof runCli>
  spawn(namespace: string, args: string[]): ReturnType<typeof spawnCli>
  /** Runs the CLI with a file's bytes on stdin. */
  cliWithStdin(namespace: string, args: string[], file: string): Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>
  /** Runs containerd's garbage collection now (a lease deleted with sync), so listings are settled. */
  gc(): Promise<void>
  /** Rows of Go ctr listings, whitespace-normalized, header dropped. */
  rows(namespace: string, args: string[]): Promise<string[][]>
  /** What is in the namespace's stores: empty arrays when an import left nothing. */
  state(namespace: string): Promise<{images: string[]; snapshots: string[]; content: string[]; leases: string[]; ingests: string[]}>
  cleanup(): Promise<void>
}

export async function setupImagesFixture(name: string): Promise<ImagesFixture> {
  const {address} = inject('containerd')
  const dir = await mkdtemp(join(tmpdir(), `ctr-it-${name}-`))
  const used: string[] = []
  const go = (namespace: string, args: string[]) => goCtr(address, ['-n', namespace, ...args])
  const rows = async (namespace: string, args: string[]) => {
    const result = await go(namespace, args)
    if (result.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${result.stderr}`)
    return result.stdout
      .trim()
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => line.trim().split(/\s+/))
  }
  return {
    address,
    dir,
    namespace(tag) {
      const ns = uniqueName(`it-${name}-${tag}`)
      used.push(ns)
      return ns
    },
    go,
    cli: (namespace, args, options = {}) => runCli(args, {address, namespace, timeoutMs: 60_000, ...options}),
    spawn: (namespace, args) => spawnCli(args, {address, namespace}),
    cliWithStdin(namespace, args, file) {
      const child = spawnCli(args, {address, namespace})
      let stdout = ''
      let stderr = ''
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.stdin!.on('error', () => undefined)
      createReadStream(file).pipe(child.stdin!)
      return new Promise((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr})))
    },
    async gc() {
      const created = await go('default', ['leases', 'create'])
      await go('default', ['leases', 'rm', '--sync', created.stdout.trim()])
    },
    rows,
    async state(namespace) {
      const first = (r: string[][]) => r.map((row) => row[0])
      const images = (await go(namespace, ['images', 'ls', '-q'])).stdout.split('\n').filter(Boolean)
      return {
        images,
        snapshots: first(await rows(namespace, ['snapshots', 'ls'])),
        content: first(await rows(namespace, ['content', 'ls'])),
        leases: first(await rows(namespace, ['leases', 'ls'])),
        ingests: first(await rows(namespace, ['content', 'active'])),
      }
    },
    async cleanup() {
      for (const ns of used) {
        for (const line of (await go(ns, ['containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await go(ns, ['containers', 'rm', line])
        const images = (await go(ns, ['images', 'ls', '-q'])).stdout.split('\n').filter(Boolean)
        if (images.length > 0) await go(ns, ['images', 'rm', '--sync', ...images])
        for (const row of await rows(ns, ['leases', 'ls']).catch(() => [])) await go(ns, ['leases', 'rm', '--sync', row[0]])
        await go('default', ['namespaces', 'remove', ns])
      }
      await rm(dir, {recursive: true, force: true})
    },
  }
}

export const EMPTY_STATE = {images: [], snapshots: [], content: [], leases: [], ingests: []}
