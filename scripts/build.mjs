// Builds dist/cli.js (the CLI: one CommonJS bundle, oclif's explicit command strategy points into it) and
// dist/index.js (the library), plus type declarations for the library, then the V8 code cache that
// bin/run.js loads the CLI bundle with (README "Performance" has the start-up figures behind each choice).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

// Not the whole of dist at once: other shells may be running the CLI while it is rebuilt.
rmSync('dist/types', {recursive: true, force: true})
for (const name of safeList('dist')) {
  if (name.endsWith('.cache')) rmSync(join('dist', name), {force: true})
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
}

/**
 * oclif sorts its command list with String#localeCompare, and the first call builds an ICU collator:
 * 6-9 ms of every start-up. Command IDs are ASCII, so code-point order gives the same list. The build fails
 * if an oclif upgrade changes the line, so the patch is never silently lost.
 */
const oclifCommandSort = {
  name: 'oclif-command-sort',
  setup(b) {
    b.onLoad({filter: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const line = '.sort((a, b) => a.id.localeCompare(b.id))'
      if (!source.includes(line)) throw new Error(`${args.path}: the command sort changed; review scripts/build.mjs`)
      return {contents: source.replace(line, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'), loader: 'js'}
    })
  },
}

await Promise.all([
  // The CLI bundles everything for start-up speed, except typescript: oclif requires it only to run .ts
  // sources in development (src/cli.ts turns that off), and bundling it made dist/cli.js 12 MB (+180 ms).
  // Whitespace and syntax are minified (a smaller file reads and deserializes faster, ≈3 ms); identifiers
  // are kept so --debug stack traces stay readable.
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    external: ['typescript'],
    plugins: [oclifCommandSort],
    minifyWhitespace: true,
    minifySyntax: true,
  }),
  // Runtime dependencies stay external for the library.
  build({...common, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', packages: 'external'}),
])

execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {stdio: 'inherit'})

// The code cache for this Node: one run that needs no daemon (a missing socket fails after oclif has
// loaded its config, parsed flags and built the client), written by bin/run.js at exit. Another Node
// version makes its own cache on first use (bin/run.js).
const tag = `${process.version}-${process.arch}`
try {
  execFileSync(process.execPath, ['bin/run.js', 'version', '--address', '/nonexistent/ctr-build.sock'], {
    env: {...process.env, CTR_CODE_CACHE_OUT: `dist/cli.js.${tag}.cache`, NODE_ENV: 'production'},
    stdio: 'ignore',
  })
} catch {
  // exit code 125 is the expected outcome; the cache file is written either way
}

function safeList(dir) {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
