/**
 * A private containerd per test run (or per test), never the system one. The daemon's configuration and
 * clean-up live in scripts/containerd-up.sh and scripts/containerd-down.sh; this module only drives them,
 * so `eval "$(scripts/containerd-up.sh)"` by hand and the test suite run exactly the same daemon.
 *
 *   const daemon = await startPrivateContainerd()
 *   await goCtr(daemon, ['-n', 'ns', 'tasks', 'ls'])   // Debian's Go ctr as a cross-check
 *   await daemon.restart()                             // same socket/root/state; shims and tasks survive
 *   await daemon.stop()                                // daemon, shims, containers, mounts, the directory
 */
import {execFile, execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdtemp, readdir, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

export const SCRIPTS_DIR = resolve(__dirname, '..', '..', 'scripts')
/** Debian's Go `ctr` (package containerd); override with $GO_CTR. */
export const GO_CTR = process.env.GO_CTR ?? (existsSync('/usr/bin/ctr') ? '/usr/bin/ctr' : 'ctr')

/** Prefix of the temp dirs startPrivateContainerd makes in os.tmpdir() (short: socket paths are limited). */
export const DIR_PREFIX = 'ctrd-'
/** File in a daemon's dir naming the process that owns it ("<pid> <start time>"), for sweepStaleDaemons. */
const OWNER_FILE = 'owner'

export interface StartOptions {
  /** Where the daemon keeps everything; default a fresh `fs.mkdtemp(os.tmpdir()/ctrd-)`. Removed by stop(). */
  dir?: string
  /** Also run stop() (synchronously) on this process's 'exit' (and SIGINT/SIGTERM/SIGHUP) if the test did not,
   *  and let sweepStaleDaemons() remove it once this process is gone (default true). false: the daemon outlives
   *  this process until containerd-down.sh DIR. */
  cleanupOnExit?: boolean
}

export interface PrivateDaemon {
  /** The daemon's directory: config.toml, root/, state/, containerd.log, containerd.pid, bundles/. */
  readonly dir: string
  /** The gRPC socket path (use `unix://${address}` with grpc-js; plain path for Go ctr and our CLI). */
  readonly address: string
  /** The daemon's PID; changes on restart(). */
  readonly pid: number
  readonly logPath: string
  /** A ready bundle made by containerd-up.sh: `sleep 3600`, busybox rootfs (root.path is relative). */
  readonly bundle: string
  /** Stops the daemon, its shims and their containers, unmounts and removes dir. Idempotent. */
  stop(): Promise<void>
  /** Stops the daemon by PID (SIGTERM, SIGKILL after 10 s; nothing if it is already dead, e.g. after kill()),
   *  starts it again with the same config (socket, root, state) and waits until it answers. Shims and their
   *  tasks survive. */
  restart(): Promise<void>
  /** Sends a signal to the daemon's PID only (default SIGKILL): simulate a crash, then restart(). */
  kill(signal?: NodeJS.Signals): void
}

export interface CommandResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const live = new Set<string>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  const cleanupAll = () => {
    for (const dir of live) {
      try {
        execFileSync('bash', [join(SCRIPTS_DIR, 'containerd-down.sh'), dir], {stdio: 'ignore', timeout: 30_000})
      } catch {
        // best effort
      }
    }
    live.clear()
  }
  // Prepended: vitest's own 'exit' listener calls process.exit() again, which ends the process at once.
  process.prependListener('exit', cleanupAll)
  // Ctrl-C reaches vitest's workers too, which die of SIGINT without 'exit': clean up, then let the signal do
  // what it would have done (re-raised when nobody else listens for it).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependOnceListener(signal, () => {
      cleanupAll()
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}

function script(name: string, args: string[], timeoutMs: number): Promise<{stdout: string; stderr: string}> {
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [join(SCRIPTS_DIR, name), ...args], {timeout: timeoutMs, encoding: 'utf8'}, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/${name} ${args.join(' ')} failed (${error.message.split('\n')[0]}):\n${stderr}`))
      else resolvePromise({stdout, stderr})
    })
  })
}

/** True while PID exists and is not a zombie (the daemon is re-parented to init, which reaps it late). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks): with the PID, identifies a process across PID reuse. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/**
 * Stops and removes private daemons in os.tmpdir()/ctrd-* whose owner process is gone: the ones a test (in a
 * vitest worker, which is killed without running 'exit' handlers) or a killed run never stopped. Daemons of
 * live processes (e.g. another engineer's run) and those started by hand with containerd-up.sh (no owner file)
 * are left alone. Returns the directories it cleaned.
 */
export async function sweepStaleDaemons(root: string = tmpdir()): Promise<string[]> {
  const swept: string[] = []
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith(DIR_PREFIX)) continue
    const dir = join(root, name)
    let owner: string
    try {
      owner = (await readFile(join(dir, OWNER_FILE), 'utf8')).trim()
    } catch {
      continue
    }
    const [pid, start] = owner.split(' ')
    if (Number(pid) === process.pid || (isRunning(Number(pid)) && startTime(Number(pid)) === start)) continue
    await script('containerd-down.sh', [dir], 60_000).then(
      () => swept.push(dir),
      () => undefined,
    )
  }
  return swept
}

/**
 * A containerd namespace or container ID unique on this machine, e.g. `uniqueName('exec')` → `exec-1a2b-3f9c01`.
 * Use one namespace per test file: runc state (/run/containerd/runc/<ns>/<id>) and cgroups (/<ns>/<id>) are
 * machine-wide, shared by every containerd here; a namespace/ID clash with another daemon (another engineer's
 * run) makes runc refuse the create, and the failed create's clean-up then deletes the other daemon's container.
 */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`
}

/** PIDs (other than this process) whose command line mentions `text`, e.g. a daemon's dir: for leak checks. */
export function processesReferencing(text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

export async function startPrivateContainerd(options: StartOptions = {}): Promise<PrivateDaemon> {
  // Short prefix: the ttrpc socket DIR/containerd.sock.ttrpc must stay under the ~107-byte sun_path limit.
  const dir = resolve(options.dir ?? (await mkdtemp(join(tmpdir(), DIR_PREFIX))))
  const address = join(dir, 'containerd.sock')
  if (address.length >= 100) throw new Error(`socket path too long: ${address}`)
  const configPath = join(dir, 'config.toml')
  if (options.cleanupOnExit !== false) {
    installExitHook()
    live.add(dir)
  }

  let pid = 0
  const up = async () => {
    await script('containerd-up.sh', [dir], 30_000)
    pid = Number((await readFile(join(dir, 'containerd.pid'), 'utf8')).trim())
  }
  const ours = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(configPath)
    } catch {
      return false
    }
  }

  try {
    await up()
    if (options.cleanupOnExit !== false) await writeFile(join(dir, OWNER_FILE), `${process.pid} ${startTime(process.pid)}\n`)
  } catch (error) {
    await script('containerd-down.sh', [dir], 30_000).catch(() => undefined)
    live.delete(dir)
    throw error
  }

  let stopping: Promise<void> | undefined
  const daemon: PrivateDaemon = {
    dir,
    address,
    logPath: join(dir, 'containerd.log'),
    bundle: join(dir, 'bundles', 'busybox'),
    get pid() {
      return pid
    },
    stop() {
      stopping ??= script('containerd-down.sh', [dir], 60_000).then(() => {
        live.delete(dir)
      })
      return stopping
    },
    async restart() {
      if (stopping) throw new Error('daemon was stopped')
      if (isRunning(pid) && ours()) {
        process.kill(pid, 'SIGTERM')
        if (!(await waitGone(pid, 10_000))) {
          process.kill(pid, 'SIGKILL')
          await waitGone(pid, 5_000)
        }
      }
      await up()
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (isRunning(pid) && ours()) process.kill(pid, signal)
    },
  }
  return daemon
}

export interface GoCtrOptions {
  /** Written to stdin, then closed; without it stdin is empty. */
  input?: string
  /** Kill ctr and resolve with what it printed after this long (default 30 s). */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

/**
 * Runs Debian's Go `ctr --address <daemon> ...args` (a reference client to cross-check ours), e.g.
 * `goCtr(daemon, ['-n', 'default', 'tasks', 'ls'])`. Resolves with the exit code and output, never rejects
 * on a non-zero exit. Note: Go ctr puts its FIFOs in /run/containerd/fifo, and a container started with
 * `run --rootfs` gets no PATH unless given `--env PATH=/bin`.
 */
export function goCtr(daemon: PrivateDaemon | {address: string} | string, args: readonly string[], options: GoCtrOptions = {}): Promise<CommandResult> {
  const address = typeof daemon === 'string' ? daemon : daemon.address
  const child = spawn(GO_CTR, ['--address', address, ...args], {env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe']})
  return new Promise((resolvePromise, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      stderr += `\n[goCtr: killed after ${options.timeoutMs ?? 30_000} ms]`
      child.kill('SIGKILL')
    }, options.timeoutMs ?? 30_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({code, signal, stdout, stderr})
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

/** `ctr -n NAMESPACE run -d --rootfs ROOTFS ID ARGS...` with Go ctr (runc v2, PATH=/bin): a container of another tool. */
export function goRunDetached(
  daemon: PrivateDaemon | {address: string} | string,
  namespace: string,
  rootfs: string,
  id: string,
  args: readonly string[] = ['sleep', '1000'],
): Promise<CommandResult> {
  return goCtr(daemon, ['-n', namespace, 'run', '-d', '--runtime', 'io.containerd.runc.v2', '--env', 'PATH=/bin', '--rootfs', rootfs, id, ...args])
}
