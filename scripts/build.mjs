// Builds dist/cli.js (the CLI: one CommonJS bundle, oclif's explicit command strategy points into it) and
// dist/index.js (the library), plus type declarations for the library (docs/performance.md has the
// start-up figures behind each choice).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'

// Not the whole of dist at once: other shells may be running the CLI while it is rebuilt.
rmSync('dist/types', {recursive: true, force: true})

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
  // The CLI bundles everything for start-up speed, except typescript: oclif requires it only to run .ts
  // sources in development (src/cli/main.ts turns that off), and bundling it made dist/cli.js 12 MB (+180 ms).
  // Minified (a smaller file reads and compiles faster); with --debug, bin/run.js maps stack traces back
  // to the sources through dist/cli.js.map.
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    // @grpc/proto-loader (and protobufjs under it) serves grpc-js's channelz and ORCA services, which ctr
    // never starts; left out, the bundle is ≈120 KB smaller (less to read and compile at every start-up).
    external: ['typescript', '@grpc/proto-loader'],
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: true,
    // The map ships (for --debug) without a copy of the sources: positions and names only.
    sourcesContent: false,
  }),
  // Runtime dependencies stay external for the library.
  build({...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', packages: 'external'}),
])

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'})
