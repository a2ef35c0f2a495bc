/**
 * What a failed (or interrupted) ctr command must not leave behind, for the reliability tests: container
 * records and tasks in the namespace (as Go's ctr sees them), files in the CLI's private TMPDIR (FIFO
 * directories) and in its private checkpoint directory ($CTR_CHECKPOINT_DIR).
 *
 *   const box = await makeSandbox(root)                  // fresh TMPDIR + checkpoint dir for one case
 *   runCli(args, {env: box.env, ...})
 *   expect(await leftovers(address, namespace, box, {keep: ['fixture-id']})).toEqual([])
 */
import {mkdir, mkdtemp, readdir} from 'node:fs/promises'
import {join} from 'node:path'

import {goCtr} from './daemon'

export interface Sandbox {
  /** TMPDIR of the CLI (FIFO directories go there). */
  tmp: string
  /** CTR_CHECKPOINT_DIR of the CLI. */
  checkpoints: string
  /** Environment for runCli: TMPDIR and CTR_CHECKPOINT_DIR. */
  env: Record<string, string>
}

export async function makeSandbox(root: string): Promise<Sandbox> {
  const dir = await mkdtemp(join(root, 'case-'))
  const tmp = join(dir, 'tmp')
  const checkpoints = join(dir, 'checkpoints')
  await mkdir(tmp)
  await mkdir(checkpoints)
  return {tmp, checkpoints, env: {TMPDIR: tmp, CTR_CHECKPOINT_DIR: checkpoints}}
}

/** Every file below dir, relative to it ("" when dir is missing). */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {recursive: true}).catch(() => [] as string[])
  return entries.map(String).sort()
}

/** Container IDs (Go ctr `containers list -q`) in the namespace. */
export async function goContainers(address: string, namespace: string): Promise<string[]> {
  const {stdout} = await goCtr(address, ['-n', namespace, 'containers', 'list', '-q'])
  return stdout.split('\n').filter(Boolean).sort()
}

/** Task IDs (Go ctr `tasks ls`) in the namespace. */
export async function goTaskIds(address: string, namespace: string): Promise<string[]> {
  const {stdout} = await goCtr(address, ['-n', namespace, 'tasks', 'ls'])
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.trim().split(/\s+/)[0])
    .sort()
}

/**
 * Descriptions of what is left: `container X`, `task X` (other than the `keep` IDs; only the `only` IDs if given), `tmp: PATH`,
 * `checkpoint: PATH`. Empty when clean.
 */
export async function leftovers(
  address: string,
  namespace: string,
  box: Sandbox | undefined,
  options: {keep?: string[]; only?: string[]} = {},
): Promise<string[]> {
  const keep = new Set(options.keep ?? [])
  // `only`: cases running concurrently in one namespace check just the IDs they used.
  const counts = (id: string) => !keep.has(id) && (!options.only || options.only.includes(id))
  const found: string[] = []
  for (const id of await goContainers(address, namespace)) if (counts(id)) found.push(`container ${id}`)
  for (const id of await goTaskIds(address, namespace)) if (counts(id)) found.push(`task ${id}`)
  if (box) {
    for (const path of await listTree(box.tmp)) found.push(`tmp: ${path}`)
    for (const path of await listTree(box.checkpoints)) found.push(`checkpoint: ${path}`)
  }
  return found
}

/** Removes every container (and its task) in the namespace with Go's ctr, then the namespace. */
export async function removeNamespace(address: string, namespace: string): Promise<void> {
  for (const id of await goContainers(address, namespace)) {
    await goCtr(address, ['-n', namespace, 'tasks', 'kill', '-s', 'KILL', id])
    await goCtr(address, ['-n', namespace, 'tasks', 'delete', '-f', id])
    await goCtr(address, ['-n', namespace, 'containers', 'delete', id])
  }
  await goCtr(address, ['namespaces', 'remove', namespace])
}

/** ctr's error contract: exit code, exactly one `ctr: ` line on stderr, no stack trace. */
export function errorShape(result: {code: number | null; stderr: string}): {code: number | null; lines: number; oneLine: boolean; stack: boolean} {
  const lines = result.stderr.split('\n').filter(Boolean)
  return {code: result.code, lines: lines.length, oneLine: lines.length === 1 && lines[0].startsWith('ctr: '), stack: /^\s+at /m.test(result.stderr)}
}
