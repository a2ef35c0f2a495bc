// Builds dist/cli.js (the CLI: one CommonJS bundle, oclif's explicit command strategy points into it) and
// dist/index.js (the library), plus type declarations for the library, then the V8 code cache that
// bin/run.js loads the CLI bundle with (README "Performance" has the start-up figures behind each choice).
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
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

/**
 * Node built-ins that only some commands use, loaded on first use instead of when the bundle starts: a
 * bundle hoists every `import ... from 'node:x'` (ours and oclif's) to its top, and these cost 0.3-2 ms each
 * at every start-up (crypto alone ≈2 ms) though `ctr version` or `ctr containers` never touch them. Each
 * becomes a proxy that requires the real module on the first access to one of its exports. The export names
 * are taken here, from the building Node, so that esbuild's ESM interop (which copies them as getters) does
 * not load the module early; a name missing from that list still works once the module is loaded.
 */
const LAZY_BUILTINS = ['assert', 'child_process', 'crypto', 'perf_hooks', 'readline']
const require = createRequire(import.meta.url)
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`)
    b.onResolve({filter}, (args) =>
      args.namespace === 'lazy-builtin'
        ? {path: args.path, external: true}
        : {path: `node:${args.path.replace(/^node:/, '')}`, namespace: 'lazy-builtin'},
    )
    b.onLoad({filter: /.*/, namespace: 'lazy-builtin'}, (args) => ({
      loader: 'js',
      contents: `let real
const load = () => (real ??= require(${JSON.stringify(args.path)}))
const names = ${JSON.stringify(Object.getOwnPropertyNames(require(args.path)))}
module.exports = new Proxy({}, {
  get: (_, key) => (key === '__esModule' && !real ? undefined : load()[key]),
  set: (_, key, value) => ((load()[key] = value), true),
  has: (_, key) => key in load(),
  ownKeys: () => (real ? Reflect.ownKeys(real) : names),
  getOwnPropertyDescriptor(_, key) {
    if (!real && typeof key === 'string' && names.includes(key)) {
      return {get: () => load()[key], set: (value) => (load()[key] = value), enumerable: true, configurable: true}
    }
    const descriptor = Reflect.getOwnPropertyDescriptor(load(), key)
    return descriptor && {...descriptor, configurable: true}
  },
})`,
    }))
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
    plugins: [oclifCommandSort, lazyBuiltins],
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
