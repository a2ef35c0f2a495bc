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
 * The cache lives in $CTR_CACHE_DIR, else (root) /var/cache/ctr, else $XDG_CACHE_HOME/ctr or ~/.cache/ctr.
 * Cached code runs as whoever runs ctr, root mostly, and V8 checks only the source's length before it uses
 * it (issue 21): so the file holds a copy of the bundle it was made for, compared byte for byte, and is
 * used only if no one but root and this user could have written it (trusted(), readCache()). A missing,
 * stale, garbage, untrusted or unwritable cache only costs the plain compile: nothing here can make ctr fail.
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

/** The bundle compiled by vm.Script against this user's cache file for this install and Node version. */
function compileWithCache(dir) {
  const vm = require('node:vm')
  const {createRequire} = require('node:module')
  const bytes = fs.readFileSync(bundle)
  const source = bytes.toString('utf8')
  // Keyed by the install's path: two copies of ctr (two checkouts, a global and a local install) keep their
  // own caches instead of evicting each other's at every run.
  const prefix = `cli-${process.version}-${process.arch}-${pathHash(bundle)}`
  const file = path.join(dir, `${prefix}.cache`)
  // V8 checks only the source's length before it runs cached code, and size and mtime are no better (npm
  // packs every file with one mtime). So the file is V8's data followed by a copy of the bundle it was made
  // from, used only if that copy is byte for byte what is compiled here (cheaper than a hash: node:crypto
  // alone costs more to load than the compare and the larger read together).
  const cached = trusted(dir) ? readCache(file) : undefined
  const made = cached && cached.length > bytes.length ? cached.length - bytes.length : 0
  const cachedData = made && cached.subarray(made).equals(bytes) ? cached.subarray(0, made) : undefined
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
    process.once('exit', () => writeCache(dir, file, prefix, script, bytes))
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

/**
 * Root keeps its cache in /var/cache/ctr, never under the HOME or XDG_CACHE_HOME it runs with: `sudo -E`
 * and `su` without `-` keep the user's, and a user's directory is refused anyway (trusted()), which
 * would leave root without a cache.
 */
function cacheDir() {
  if (process.env.CTR_CACHE_DIR) return path.resolve(process.env.CTR_CACHE_DIR)
  if (process.geteuid() === 0) return '/var/cache/ctr'
  const base = process.env.XDG_CACHE_HOME || (process.env.HOME && path.join(process.env.HOME, '.cache'))
  return base ? path.resolve(base, 'ctr') : undefined
}

/**
 * Whether only root and this user can change what `dir` holds, so that no one else's code can be run from
 * it: every directory from / down is a real one (lstat: no symbolic link), owned by root or our euid and
 * writable by no one else, except that a sticky one (/tmp) may be on the way, and be `dir` itself only
 * when `sticky` (a place to create our own directory in).
 */
function trusted(dir, sticky = false) {
  const euid = process.geteuid()
  for (let at = dir, last = true; ; at = path.dirname(at), last = false) {
    let st
    try {
      st = fs.lstatSync(at)
    } catch {
      return false
    }
    if (!st.isDirectory() || (st.uid !== 0 && st.uid !== euid)) return false
    if (st.mode & 0o022 && !(st.mode & 0o1000 && (sticky || !last))) return false
    if (at === path.dirname(at)) return true
  }
}

/** The cache file if it is a regular file of ours no one else can write, as checked on the opened file. */
function readCache(file) {
  const {O_RDONLY, O_NOFOLLOW, O_NONBLOCK} = fs.constants
  let fd
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) // not through a symlink; a FIFO cannot hang us
    const st = fs.fstatSync(fd)
    return st.isFile() && st.uid === process.geteuid() && !(st.mode & 0o022) ? fs.readFileSync(fd) : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * Best effort: a read-only or full disk, an untrusted directory or a concurrent writer must never break
 * or slow the command. A fresh file of ours, 0600, renamed over the old one.
 */
function writeCache(dir, file, prefix, script, bytes) {
  const {O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW} = fs.constants
  const temp = `${file}.${process.pid}.tmp`
  try {
    if (!ensureDir(dir)) return
    const data = script.createCachedData()
    const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    try {
      fs.writeFileSync(fd, data)
      fs.writeFileSync(fd, bytes) // appended: writes through an fd start where the last one ended
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(temp, file)
    removeOthers(dir, `${prefix}-`)
  } catch {
    try {
      fs.rmSync(temp, {force: true})
    } catch {
      // no cache this time
    }
  }
}

/**
 * Whether `dir` is there and trusted, once created 0700 if missing (with its parent: ~/.cache on a fresh
 * account) in a trusted directory. Not mkdirSync's `recursive`: on Node 20 it loops for ever on a path
 * such as /proc/x, where mkdir says ENOENT under an existing dir.
 */
function ensureDir(dir, parents = 1) {
  if (trusted(dir)) return true
  const parent = path.dirname(dir)
  if (!trusted(parent, true) && !(parents > 0 && ensureDir(parent, parents - 1))) return false
  try {
    fs.mkdirSync(dir, {mode: 0o700})
  } catch {
    // EEXIST: someone's (trusted() says whose), or not a directory
  }
  return trusted(dir)
}

/** This install's caches as earlier versions of ctr named them (`<prefix>-<size>-<mtime>.cache`). */
function removeOthers(dir, prefix) {
  try {
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith(prefix) && name.endsWith('.cache')) fs.rmSync(path.join(dir, name), {force: true})
    }
  } catch {
    // best effort
  }
}
