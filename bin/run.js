#!/usr/bin/env node
'use strict'
/**
 * ctr's entry. It loads the CLI bundle (dist/cli.js) through a V8 code cache, which is what
 * v8-compile-cache does, for our one file: compiling the bundle is about a third of ctr's start-up
 * (Node 20 has no module.enableCompileCache). The cache is produced by the build for the Node that built it
 * (dist/cli.js.<node version>-<arch>.cache) or, for any other Node, once per user in a cache directory.
 * A missing, stale or rejected cache only costs the plain compile; nothing here can make ctr fail.
 * CTR_NO_CODE_CACHE=1 loads the bundle with a plain require.
 */
const fs = require('node:fs')
const path = require('node:path')

const bundle = path.join(__dirname, '..', 'dist', 'cli.js')
// oclif checks the Node version against its own engines range with semver when it loads (≈2 ms of every
// start-up); npm already checks ours (package.json "engines") at install.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'

// Exit explicitly once the command is done: a leftover handle must never keep a script waiting.
const argv = process.argv.slice(2)
load(argv)
  .main(argv)
  .then(() => process.exit())

function load(args) {
  // --debug wants readable stack traces: the bundle's identifiers are minified, so map them back to the
  // TypeScript sources (dist/cli.js.map). Node maps only modules loaded by require, so no code cache then.
  const end = args.indexOf('--') // after it: the container's own arguments (exec -- app --debug)
  const debug = (end < 0 ? args : args.slice(0, end)).includes('--debug')
  if (debug) process.setSourceMapsEnabled(true)
  if (debug || process.env.CTR_NO_CODE_CACHE) return require(bundle)
  let compiled
  try {
    compiled = compileWithCache()
  } catch {
    return require(bundle) // e.g. vm lacks an option in this Node: the plain way
  }
  // Outside the try: an error while the bundle runs is a real error, and the bundle must not run twice.
  compiled.run()
  return compiled.module.exports
}

function compileWithCache() {
  const vm = require('node:vm')
  const Module = require('node:module')
  const source = fs.readFileSync(bundle, 'utf8')
  const stat = fs.statSync(bundle)
  const tag = `${process.version}-${process.arch}`
  const shipped = `${bundle}.${tag}.cache`
  const userDir = cacheDir()
  const personal = userDir && path.join(userDir, `cli-${tag}-${stat.size}-${Math.trunc(stat.mtimeMs)}.cache`)
  // The build names its output explicitly (CTR_CODE_CACHE_OUT); otherwise a fresh cache goes to the user's dir.
  const out = process.env.CTR_CODE_CACHE_OUT || undefined
  // A personal cache exists only where the shipped one was missing or rejected: try it first.
  const cachedData = out ? undefined : (personal && readIfNewer(personal, stat.mtimeMs)) ?? readIfNewer(shipped, stat.mtimeMs)

  const script = new vm.Script(Module.wrap(source), {
    filename: bundle,
    cachedData,
    // Keeps import() inside the bundle working as in a required file (oclif imports ESM plugins this way).
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const target = out || (!cachedData || script.cachedDataRejected ? personal : undefined)
  if (target) {
    // Written at exit, after the command ran, so the cache also holds the functions this run compiled.
    process.once('exit', () => {
      writeAtomically(target, () => script.createCachedData())
      if (target === personal) removeOlder(userDir, `cli-${tag}-`, personal)
    })
  }

  const mod = new Module(bundle, module)
  mod.filename = bundle
  mod.paths = Module._nodeModulePaths(path.dirname(bundle))
  // oclif requires the command target (dist/cli.js) itself: it must find this instance, not load a second.
  Module._cache[bundle] = mod
  return {
    module: mod,
    run() {
      const wrapper = script.runInThisContext({displayErrors: true})
      const moduleRequire = (id) => mod.require(id)
      moduleRequire.resolve = (request, options) => Module._resolveFilename(request, mod, false, options)
      moduleRequire.cache = Module._cache
      moduleRequire.main = process.mainModule
      wrapper.call(mod.exports, mod.exports, moduleRequire, mod, bundle, path.dirname(bundle))
      mod.loaded = true
    },
  }
}

function cacheDir() {
  if (process.env.CTR_CACHE_DIR) return process.env.CTR_CACHE_DIR
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME && path.join(process.env.HOME, '.cache'))
  return base ? path.join(base, 'ctr') : undefined
}

/** The file's bytes if it is at least as new as the bundle (an older one belongs to a previous build). */
function readIfNewer(file, bundleMtimeMs) {
  try {
    if (fs.statSync(file).mtimeMs < bundleMtimeMs) return undefined
    return fs.readFileSync(file)
  } catch {
    return undefined
  }
}

/** Best effort: a read-only or full disk, or a concurrent writer, must never break or slow the command. */
function writeAtomically(file, produce) {
  try {
    const data = produce()
    fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
    const temp = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temp, data, {mode: 0o644})
    fs.renameSync(temp, file)
  } catch {
    // no cache this time
  }
}

/** One personal cache per Node version: the ones for earlier builds of the bundle are dead weight. */
function removeOlder(dir, prefix, keep) {
  try {
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name)
      if (name.startsWith(prefix) && name.endsWith('.cache') && file !== keep) fs.rmSync(file, {force: true})
    }
  } catch {
    // best effort
  }
}
