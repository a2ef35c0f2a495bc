/**
 * vitest globalSetup of the projects that run the built CLI or library (dist/): a dist/ older than what it
 * is built from is rebuilt first (npm run build), so nobody tests a stale bundle; where it cannot be rebuilt
 * (a read-only checkout, another user's tree) the run stops with the reason instead.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

const ROOT = join(__dirname, '..', '..')
const OUTPUTS = ['dist/cli.js', 'dist/index.js']
/** What the bundles are built from. */
const INPUTS = ['src', 'package.json', 'package-lock.json', 'scripts/build.mjs', 'tsconfig.json', 'tsconfig.build.json']

export default function setup(): void {
  const stale = staleReason()
  if (!stale) return
  console.warn(`fresh-dist: ${stale}; rebuilding (npm run build)`)
  try {
    execFileSync('npm', ['run', '--silent', 'build'], {cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit']})
  } catch (error) {
    throw new Error(`dist/ is stale (${stale}) and could not be rebuilt: run npm run build, then the tests`, {cause: error})
  }
  const still = staleReason()
  if (still) throw new Error(`dist/ is still stale after npm run build: ${still}`)
}

/** Why dist/ is out of date, or undefined when every output is newer than every input. */
export function staleReason(root = ROOT): string | undefined {
  let oldest: {path: string; mtimeMs: number} | undefined
  for (const output of OUTPUTS) {
    const path = join(root, output)
    if (!existsSync(path)) return `${output} is missing`
    const {mtimeMs} = statSync(path)
    if (!oldest || mtimeMs < oldest.mtimeMs) oldest = {path: output, mtimeMs}
  }
  const newest = newestFile(root, INPUTS)
  if (newest && oldest && newest.mtimeMs > oldest.mtimeMs) return `${newest.path} is newer than ${oldest.path}`
  return undefined
}

function newestFile(root: string, paths: readonly string[]): {path: string; mtimeMs: number} | undefined {
  let newest: {path: string; mtimeMs: number} | undefined
  const visit = (relative: string) => {
    const path = join(root, relative)
    if (!existsSync(path)) return
    const stat = statSync(path)
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(relative, entry))
    } else if (!newest || stat.mtimeMs > newest.mtimeMs) {
      newest = {path: relative, mtimeMs: stat.mtimeMs}
    }
  }
  paths.forEach(visit)
  return newest
}
