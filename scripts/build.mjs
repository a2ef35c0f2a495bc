// Builds dist/cli.js (the CLI: one CommonJS bundle, oclif's explicit command strategy points into it) and
// dist/index.js (the library), plus type declarations for the library.
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'

rmSync('dist', {recursive: true, force: true})

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
}

await Promise.all([
  // Runtime dependencies stay external for the library; the CLI bundles everything for start-up speed.
  build({...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js'}),
  build({...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', packages: 'external'}),
])

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'})
