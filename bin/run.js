#!/usr/bin/env node
'use strict'
/**
 * ctr's entry: loads the CLI bundle (dist/cli.js) with V8's compiled code kept between runs, since
 * compiling the 1 MB bundle is a large part of every start-up (docs/performance.md). Public APIs only:
 * `vm.Script` with `cachedData`, run as a CommonJS module with `module.createRequire()` and entered in
 * `require.cache`, so oclif's own require of dist/cli.js (its command target) finds this instance. The
 * cache is written at exit, so it holds every function the run compiled. Node 22's own
 * `module.enableCompileCache()` was measured too: it caches only what compiles eagerly, so the grpc-js and
 * command code compiled again at every run (`ctr version` 143 ms against 85 ms with this on Node 22).
 * The cache lives in $CTR_CACHE_DIR, else $XDG_CACHE_HOME/ctr or ~/.cache/ctr. A missing, stale, garbage
 * or unwritable cache only costs the plain compile: nothing here can make ctr fail.
 * CTR_NO_CODE_CACHE=1 (and --debug) load the bundle with a plain require.
 */
const fs = require('node:fs')
const path = require('node:path')

const bundle = path.join(__dirname, '..', 'dist', 'cli.js')
// oclif checks the Node version against its own engines range with semver when it loads (≈2 ms of every
// start-up); npm already checks ours (package.json "engines") at install.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'

const argv = process.argv.slice(2)
// Exit explicitly once the command is done: a leftover handle must never keep a script waiting.
load(argv)
  .main(argv)
  .then(() => process.exit())

function load(args) {
  const end = args.indexOf('--') // after it: the container's own arguments (exec -- app --debug)
  // --debug wants readable stack traces: the bundle's identifiers are minified, so map them back to the
  // TypeScript sources (dist/cli.js.map). Node maps only what its own loader compiled: no cache then.
  if ((end < 0 ? args : args.slice(0, end)).includes('--debug')) {
    process.setSourceMapsEnabled(true)
    return require(bundle)
  }
  const dir = process.env.CTR_NO_CODE_CACHE ? undefined : cacheDir()
  if (!dir) return require(bundle)
  let compiled
  try {
    compiled = compileWithCache(dir)
  } catch {
    return require(bundle) // e.g. vm lacks an option in this Node: the plain way
  }
  // Outside the try: an error while the bundle runs is a real error, and the bundle must not run twice.
  return compiled.run()
}

/** The bundle compiled by vm.Script against a per-user cache file for this build and Node version. */
function compileWithCache(dir) {
  const vm = require('node:vm')
  const {createRequire} = require('node:module')
  const source = fs.readFileSync(bundle, 'utf8')
  const stat = fs.statSync(bundle)
  // Keyed by the install's path too: two copies of ctr (two checkouts, a global and a local install) keep
  // their own caches instead of evicting each other's at every run.
  const prefix = `cli-${process.version}-${process.arch}-${pathHash(bundle)}-`
  const file = path.join(dir, `${prefix}${stat.size}-${Math.trunc(stat.mtimeMs)}.cache`)
  const cachedData = readOrUndefined(file)
  // The CommonJS wrapper, as Node's loader applies it.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n})`
  const script = new vm.Script(wrapped, {
    filename: bundle,
    cachedData,
    // Keeps import() inside the bundle working as in a required file (oclif imports ESM plugins this way).
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  if (!cachedData || script.cachedDataRejected) {
    // Written at exit, after the command ran, so the cache also holds the functions this run compiled.
    process.once('exit', () => {
      writeAtomically(file, () => script.createCachedData())
      removeOthers(dir, prefix, file)
    })
  }
  return {
    run() {
      const dirname = path.dirname(bundle)
      const mod = {id: bundle, filename: bundle, path: dirname, exports: {}, loaded: false, children: [], paths: []}
      // oclif requires its command target (dist/cli.js): it must get this instance, not compile a second.
      require.cache[bundle] = mod
      script.runInThisContext({displayErrors: true}).call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname)
      mod.loaded = true
      return mod.exports
    },
  }
}

/** FNV-1a of the path, in hex: short and stable (node:crypto would cost more than it saves here). */
function pathHash(text) {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash.toString(16)
}

function cacheDir() {
  if (process.env.CTR_CACHE_DIR) return process.env.CTR_CACHE_DIR
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME && path.join(process.env.HOME, '.cache'))
  return base ? path.join(base, 'ctr') : undefined
}

function readOrUndefined(file) {
  try {
    return fs.readFileSync(file)
  } catch {
    return undefined
  }
}

/** Best effort: a read-only or full disk, or a concurrent writer, must never break or slow the command. */
function writeAtomically(file, produce) {
  try {
    const data = produce()
    makeDir(path.dirname(file))
    const temp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temp, data, {mode: 0o644})
    fs.renameSync(temp, file)
  } catch {
    // no cache this time
  }
}

/**
 * The cache dir and, if missing, its parent (~/.cache on a fresh account). Not mkdirSync's `recursive`:
 * on Node 20 it loops for ever on a path such as /proc/x, where mkdir says ENOENT under an existing dir.
 */
function makeDir(dir) {
  try {
    fs.mkdirSync(dir, {mode: 0o700})
  } catch (error) {
    if (error.code === 'EEXIST') return
    if (error.code !== 'ENOENT') throw error
    fs.mkdirSync(path.dirname(dir), {mode: 0o700})
    fs.mkdirSync(dir, {mode: 0o700})
  }
}

/** One cache per Node version and install: the ones for earlier builds of the bundle are dead weight. */
function removeOthers(dir, prefix, keep) {
  try {
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name)
      if (name.startsWith(prefix) && name.endsWith('.cache') && file !== keep) fs.rmSync(file, {force: true})
    }
  } catch {
    // best effort
  }
}
