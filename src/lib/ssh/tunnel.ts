/**
 * A containerd on another host, through the system's OpenSSH: `ssh -N -L LOCAL.sock:REMOTE.sock HOST` forwards
 * a private unix socket of ours (in a 0700 directory ctr makes) to containerd's socket there, and the client
 * (../containerd/client.ts) talks gRPC through it. One tunnel per address per process, shared by every client
 * made for it (clean-up clients too), ended when the process exits:
 * - every exit path of the process (success, error, Ctrl-C, SIGTERM, a second signal's process.exit) runs the
 *   synchronous 'exit' hook here, which sends ssh SIGTERM and removes the directory;
 * - ssh runs in its own session (setsid): Ctrl-C at the terminal reaches ctr only, which may still need the
 *   tunnel to roll back what it started;
 * - ssh dying is noticed: its last line on stderr becomes the reason of the next failed call;
 * - ctr killed with SIGKILL runs no hook. Its ssh keeps running (nothing local tells it, and `ssh -N` reads no
 *   stdin to see EOF on), and its directory stays. The directory's name carries ctr's owner token
 *   (../owner.ts) and holds ssh's PID and start time: the next ctr that opens a tunnel ends that ssh (only if
 *   PID and start time still match) and removes the directory, as FIFO directories are cleaned up.
 * ctr never prompts (BatchMode=yes) and bounds the connection by its connect deadline: ssh's own
 * ConnectTimeout for the TCP connection, and ctr's timer for the whole wait (authentication included).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {lstatSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stripVTControlCharacters} from 'node:util'

import {CtrError, formatMs} from '../containerd/errors'
import {deadOwnersDirs, ownerToken} from '../owner'
import {privateDirProblem} from '../private-paths'
import type {SshAddress} from './address'
import {sshCommand} from './command'

const DIR_PREFIX = 'ctr-ssh-'
const DIR = /^ctr-ssh-(\d+\.\d+\.\d+)-[A-Za-z0-9]{6}$/
const SOCKET_NAME = 'containerd.sock'
/** `<pid> <start time>` of the ssh process, for the next ctr if this one is SIGKILLed. */
const PID_FILE = 'ssh.pid'

export interface TunnelOptions {
  /** Give up after this long: ssh's ConnectTimeout (rounded up to seconds) and ctr's own wait. */
  connectTimeoutMs: number
  signal?: AbortSignal
  env?: NodeJS.ProcessEnv
}

export class SshTunnel {
  /** ssh's last line on stderr once it has exited, else undefined. */
  private ended?: string
  private stderrTail = ''
  private readonly listeners = new Set<() => void>()
  /** How much of stderrTail was there when the socket appeared (warnings of the handshake are not news). */
  private seenAtReady = 0

  private constructor(
    readonly address: SshAddress,
    readonly dir: string,
    readonly socket: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      const joined = this.stderrTail + chunk
      const dropped = Math.max(0, joined.length - 4096)
      this.stderrTail = joined.slice(dropped)
      this.seenAtReady = Math.max(0, this.seenAtReady - dropped)
      if (this.seenAtReady < this.stderrTail.length) for (const listener of [...this.listeners]) listener()
    })
    child.on('exit', (code, signal) => {
      this.ended = this.lastLine() ?? (signal ? `ssh was killed by ${signal}` : `ssh exited with status ${code}`)
    })
  }

  /**
   * Calls `listener` when ssh says something once the forwarding is up (a connection to the remote socket
   * failed) or exits; returns the unsubscribe.
   */
  onTrouble(listener: () => void): () => void {
    this.listeners.add(listener)
    this.child.once('exit', listener)
    return () => {
      this.listeners.delete(listener)
      this.child.off('exit', listener)
    }
  }

  /** Why ssh has gone (its last line on stderr), or undefined while it runs. */
  get failure(): string | undefined {
    return this.ended
  }

  /**
   * ssh's last non-empty line on stderr (`channel 2: open failed: connect failed: ...`); with `sinceReady`, only
   * what it said after the forwarding was up.
   */
  lastLine(sinceReady = false): string | undefined {
    const lines = stripVTControlCharacters(this.stderrTail.slice(sinceReady ? this.seenAtReady : 0))
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
    return lines.at(-1)?.replace(/^ssh: /, '')
  }

  /** Ends ssh and removes the directory; synchronous (it runs in the 'exit' hook too) and idempotent. */
  close(): void {
    live.delete(this)
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    rmSync(this.dir, {recursive: true, force: true})
  }

  /** Starts ssh and waits until its forwarding socket is there; on any failure nothing is left behind. */
  static async open(address: SshAddress, options: TunnelOptions): Promise<SshTunnel> {
    const command = sshCommand(options.env)
    await removeDeadTunnels().catch(() => undefined)
    const owner = ownerToken()
    const dir = await mkdtemp(join(tmpdir(), owner ? `${DIR_PREFIX}${owner}-` : DIR_PREFIX)).catch((error: Error) => {
      throw new CtrError('internal', `cannot create a directory for the ssh tunnel: ${error.message}`, {cause: error})
    })
    const problem = await privateDirProblem(dir)
    if (problem) {
      rmSync(dir, {recursive: true, force: true})
      throw new CtrError('permission-denied', `cannot use ${dir} for the ssh tunnel: ${problem}`)
    }
    const socket = join(dir, SOCKET_NAME)
    const seconds = Math.max(1, Math.ceil(options.connectTimeoutMs / 1000))
    const args = [
      ...command.slice(1),
      ...['-o', 'BatchMode=yes', '-o', `ConnectTimeout=${seconds}`, '-o', 'ExitOnForwardFailure=yes'],
      ...['-N', '-T', '-L', `${socket}:${address.socket}`],
      ...(address.user ? ['-l', address.user] : []),
      ...(address.port ? ['-p', String(address.port)] : []),
      '--',
      address.host,
    ]
    let child: ChildProcess
    try {
      // Its own session: the terminal's Ctrl-C goes to ctr, which ends ssh when it is done with it.
      child = spawn(command[0], args, {stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: options.env ?? process.env})
    } catch (error) {
      rmSync(dir, {recursive: true, force: true})
      throw new CtrError('unavailable', `cannot connect to containerd at ${address.text}: cannot run ${command[0]}: ${(error as Error).message}`)
    }
    const tunnel = new SshTunnel(address, dir, socket, child)
    live.add(tunnel)
    hookExit()
    try {
      await new Promise<void>((resolveSpawn, reject) => {
        child.once('spawn', resolveSpawn)
        child.once('error', (error) =>
          reject(new CtrError('unavailable', `cannot connect to containerd at ${address.text}: cannot run ${command[0]}: ${error.message}`)),
        )
      })
      recordPid(dir, child.pid!)
      await tunnel.ready(options)
    } catch (error) {
      tunnel.close()
      throw error
    }
    // Neither ssh nor its stderr keeps a library caller's process alive; the 'exit' hook ends ssh.
    child.unref()
    ;(child.stderr as {unref?: () => void} | null)?.unref?.()
    return tunnel
  }

  /** Resolves once the socket exists; rejects when ssh exits first, the deadline passes or the signal aborts. */
  private ready(options: TunnelOptions): Promise<void> {
    return new Promise<void>((resolveReady, reject) => {
      let watcher: FSWatcher | undefined
      let finished = false
      const done = (error?: CtrError) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        clearInterval(poll)
        watcher?.close()
        this.child.off('exit', onExit)
        options.signal?.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolveReady()
      }
      const check = () => {
        if (finished || !isSocket(this.socket)) return
        // ssh binds, then listens: a connection in between is refused, and grpc-js fails the call at once.
        if (!isListening(this.socket)) {
          setTimeout(check, 2)
          return
        }
        this.seenAtReady = this.stderrTail.length
        done()
      }
      const onExit = () => {
        // stderr may still hold its last line: the pipe closes after 'exit'.
        this.child.stderr?.once('close', () => done(this.error(this.lastLine() ?? this.ended ?? 'ssh exited')))
        if (this.child.stderr?.closed ?? true) done(this.error(this.lastLine() ?? this.ended ?? 'ssh exited'))
      }
      const onAbort = () => done(new CtrError('cancelled', 'cancelled'))
      const timer = setTimeout(
        () => done(this.error(`no connection within ${formatMs(options.connectTimeoutMs)} (the connect timeout)`, 'deadline')),
        options.connectTimeoutMs,
      )
      // inotify says when ssh binds the socket; the poll is the fallback where watching is not possible.
      const poll = setInterval(check, 50)
      try {
        watcher = watch(this.dir, check)
      } catch {
        // the poll alone
      }
      this.child.on('exit', onExit)
      options.signal?.addEventListener('abort', onAbort, {once: true})
      if (options.signal?.aborted) onAbort()
      check()
    })
  }

  /** ssh's words, with what they mean here where they are terse. */
  explain(line: string): string {
    // sshd could not connect to the remote socket: `channel 1: open failed: connect failed: open failed`.
    if (/open failed: connect failed/.test(line)) return `no containerd socket at ${this.address.socket} there (ssh: ${line})`
    return `ssh: ${line}`
  }

  private error(reason: string, kind: 'unavailable' | 'deadline' = 'unavailable'): CtrError {
    return new CtrError(
      kind === 'deadline' ? 'deadline-exceeded' : 'unavailable',
      `cannot connect to containerd at ${this.address.text}: ${this.explain(reason)}`,
    )
  }
}

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket()
  } catch {
    return false
  }
}

/**
 * Whether a unix socket at `path` listens, from /proc/net/unix (Flags __SO_ACCEPTCON, 00010000). Where /proc
 * cannot say, the socket's existence must do.
 */
function isListening(path: string): boolean {
  let table: string
  try {
    table = readFileSync('/proc/net/unix', 'utf8')
  } catch {
    return true
  }
  for (const line of table.split('\n')) {
    if (!line.endsWith(` ${path}`)) continue
    if (line.trim().split(/\s+/)[3] === '00010000') return true
  }
  return false
}

/** Writes `<pid> <start time>` so a later ctr can end this ssh if ctr dies by SIGKILL (see the module comment). */
function recordPid(dir: string, pid: number): void {
  const started = processStartTime(pid)
  if (started) writeFileSync(join(dir, PID_FILE), `${pid} ${started}\n`, {mode: 0o600, flag: 'wx'})
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), which with the PID names one process for good. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .at(22 - 3)
  } catch {
    return undefined
  }
}

const live = new Set<SshTunnel>()
/** The tunnel of each ssh:// address this process has opened or is opening. */
const byAddress = new Map<string, Promise<SshTunnel>>()

/**
 * The tunnel to `address`, opened on first use and shared by every client for it. One that failed or whose ssh
 * has died is opened again on the next ask (a clean-up client after ssh died tries afresh).
 */
export async function tunnelFor(address: SshAddress, options: TunnelOptions): Promise<SshTunnel> {
  const known = byAddress.get(address.text)
  if (known) {
    const tunnel = await known.catch(() => undefined)
    if (tunnel && !tunnel.failure) return tunnel
    if (byAddress.get(address.text) === known) byAddress.delete(address.text)
    if (tunnel) tunnel.close()
    if (byAddress.has(address.text)) return tunnelFor(address, options)
  }
  const opening = SshTunnel.open(address, options)
  byAddress.set(address.text, opening)
  opening.catch(() => byAddress.get(address.text) === opening && byAddress.delete(address.text))
  return opening
}
let hooked = false
function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', closeTunnels)
}

/** Ends every tunnel of this process (the 'exit' hook; also for a library caller that is done). */
export function closeTunnels(): void {
  byAddress.clear()
  for (const tunnel of [...live]) tunnel.close()
}

/**
 * Removes the tunnel directories of ctr processes that died without their 'exit' hook (SIGKILL), ending their
 * ssh when the recorded PID still is that ssh (same start time). Only real 0700 directories of this user named
 * for a dead owner: never one another user could have planted. Resolves with the directories removed.
 */
export async function removeDeadTunnels(parent: string = tmpdir()): Promise<string[]> {
  const removed: string[] = []
  for (const path of await deadOwnersDirs(parent, DIR)) {
    const recorded = await readFile(join(path, PID_FILE), {encoding: 'utf8', flag: 'r'}).catch(() => '')
    const [pid, started] = recorded.trim().split(' ')
    if (pid && started && processStartTime(Number(pid)) === started) {
      try {
        process.kill(Number(pid), 'SIGTERM')
      } catch {
        // gone meanwhile
      }
    }
    await rm(path, {recursive: true, force: true}).then(
      () => removed.push(path),
      () => undefined,
    )
  }
  return removed
}
