// Builds dist/cli.js (the CLI: one CommonJS bundle, oclif's explicit command strategy points into it) and
// dist/index.js (the library), plus type declarations for the library, then the V8 code cache that
// bin/run.js loads the CLI bundle with (README "Performance" has the start-up figures behind each choice).
import {build} from 'esbuild'
import {execFile, execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

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
 * Small edits to dependencies' sources, each worth a millisecond or more of every start-up. The build fails
 * if an upgrade changes a line, so a patch is never silently lost.
 */
const DEPENDENCY_PATCHES = [
  {
    // oclif sorts its command list with String#localeCompare, and the first call builds an ICU collator
    // (6-9 ms). Command IDs are ASCII, so code-point order gives the same list. tinyglobby (with fdir and
    // picomatch) finds commands in a directory, which the explicit command strategy never does: it now
    // loads on first use (≈1 ms).
    file: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/,
    edits: [
      ['.sort((a, b) => a.id.localeCompare(b.id))', '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'],
      ['const tinyglobby_1 = require("tinyglobby");', 'const tinyglobby_1 = {glob: (...args) => require("tinyglobby").glob(...args)};'],
    ],
  },
  {
    // oclif's Config.load asks wsl-utils whether this is WSL; it and the powershell-utils it imports each
    // promisify child_process.execFile when they load, so every start-up loaded child_process and dgram.
    // The promisify now happens on first call (only on WSL and Windows hosts).
    file: /[\\/](wsl-utils|powershell-utils)[\\/]index\.js$/,
    edits: [['const execFile = promisify(childProcess.execFile);', 'const execFile = (...args) => promisify(childProcess.execFile)(...args);']],
  },
  {
    // cli-table3 measures every cell with string-width, whose emoji regex (≈10 KB) compiles on first use
    // (≈1 ms of each table). Printable ASCII is one column a character, which is what the full path
    // computes too; anything else takes the full path.
    file: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/,
    edits: [["\tstring = string.replace(emojiRegex(), '  ');", "\tif (/^[\\x20-\\x7e]*$/.test(string)) return string.length;\n\tstring = string.replace(emojiRegex(), '  ');"]],
  },
]
const dependencyPatches = {
  name: 'dependency-patches',
  setup(b) {
    for (const {file, edits} of DEPENDENCY_PATCHES) {
      b.onLoad({filter: file}, (args) => {
        let source = readFileSync(args.path, 'utf8')
        for (const [line, replacement] of edits) {
          if (!source.includes(line)) throw new Error(`${args.path}: no longer has ${JSON.stringify(line)}; review scripts/build.mjs`)
          source = source.replace(line, replacement)
        }
        return {contents: source, loader: 'js'}
      })
    }
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
  // sources in development (src/cli/main.ts turns that off), and bundling it made dist/cli.js 12 MB (+180 ms).
  // Minified (a smaller file reads and deserializes faster: whitespace and syntax ≈3 ms, identifiers ≈2 ms
  // more); with --debug, bin/run.js maps stack traces back to the sources through dist/cli.js.map.
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    external: ['typescript'],
    plugins: [dependencyPatches, lazyBuiltins],
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

// The code cache for this Node, written by bin/run.js at the exit of one `ctr containers` whose calls are
// answered: by a stand-in for containerd on a temporary socket (empty lists), so the cache also holds the
// transport, HTTP/2, decoding and table code that real calls run (≈5 ms less to compile at each start).
// Without unix sockets, a run against a missing socket still caches oclif, flag parsing and the client.
// Another Node version makes its own cache on first use (bin/run.js).
const tag = `${process.version}-${process.arch}`
const cacheRun = (address) =>
  promisify(execFile)(process.execPath, ['bin/run.js', 'containers', '--address', address], {
    env: {...process.env, CTR_CODE_CACHE_OUT: `dist/cli.js.${tag}.cache`, NODE_ENV: 'production', CTR_TIMEOUT: '10s'},
    // Never a hung build: the run is killed (and the build goes on without a cache) after 30 s.
    timeout: 30_000,
    killSignal: 'SIGKILL',
  }).catch(() => undefined) // the cache file is written whatever the exit code
const stand = await containerdStandIn().catch(() => undefined)
try {
  await cacheRun(stand?.address ?? '/nonexistent/ctr-build.sock')
} finally {
  await stand?.close()
}

/** A unix-socket gRPC server for the cache run: every call succeeds with an empty response message. */
async function containerdStandIn() {
  const {createServer} = await import('node:http2')
  const dir = mkdtempSync(join(tmpdir(), 'ctr-build-'))
  const address = join(dir, 'containerd.sock')
  const emptyMessage = Buffer.from([0, 0, 0, 0, 0])
  const server = createServer()
  server.on('stream', (stream) => {
    stream.on('data', () => undefined)
    stream.on('end', () => {
      stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true})
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}))
      stream.end(emptyMessage)
    })
  })
  try {
    await new Promise((resolve, reject) => server.once('error', reject).listen(address, resolve))
  } catch (error) {
    rmSync(dir, {recursive: true, force: true})
    throw error
  }
  return {
    address,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        rmSync(dir, {recursive: true, force: true})
      }),
  }
}

function safeList(dir) {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
