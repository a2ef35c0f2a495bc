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

// The code cache for this Node, written by bin/run.js at the exit of one `ctr version` whose Version call
// is answered: by a stand-in for containerd's Version service on a temporary socket, so the cache also holds
// the transport, HTTP/2 and decoding code every real call runs. (Without it, e.g. no unix sockets, a run
// against a missing socket still caches oclif, flag parsing and the client.) Another Node version makes
// its own cache on first use (bin/run.js).
const tag = `${process.version}-${process.arch}`
const cacheRun = (address) =>
  promisify(execFile)(process.execPath, ['bin/run.js', 'version', '--address', address], {
    env: {...process.env, CTR_CODE_CACHE_OUT: `dist/cli.js.${tag}.cache`, NODE_ENV: 'production'},
  }).catch(() => undefined) // the cache file is written whatever the exit code
const stand = await versionStandIn().catch(() => undefined)
try {
  await cacheRun(stand?.address ?? '/nonexistent/ctr-build.sock')
} finally {
  await stand?.close()
}

/** A unix-socket gRPC server answering containerd.services.version.v1.Version/Version, for the cache run. */
async function versionStandIn() {
  const {createServer} = await import('node:http2')
  const dir = mkdtempSync(join(tmpdir(), 'ctr-build-'))
  const address = join(dir, 'containerd.sock')
  // VersionResponse{version: "build", revision: "build"}: fields 1 and 2, strings; in a gRPC message frame.
  const text = Buffer.from('build')
  const message = Buffer.concat([Buffer.from([0x0a, text.length]), text, Buffer.from([0x12, text.length]), text])
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message])
  const server = createServer()
  server.on('stream', (stream, headers) => {
    stream.on('data', () => undefined)
    stream.on('end', () => {
      if (headers[':path'] !== '/containerd.services.version.v1.Version/Version') {
        stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12'}, {endStream: true})
        return
      }
      stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true})
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}))
      stream.end(frame)
    })
  })
  await new Promise((resolve, reject) => server.once('error', reject).listen(address, resolve))
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
