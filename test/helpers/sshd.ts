/**
 * A private OpenSSH server for the ssh:// tests: /usr/sbin/sshd -D -e -f <its own config> on 127.0.0.1 on a free
 * port, with its own host key and one authorized key the test makes (ssh-keygen), root login by that key only.
 * Stopped by its PID; its directory removed. `sshCommand` is what CTR_SSH_COMMAND takes to reach it without
 * the machine's ssh configuration, known hosts or agent.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {mkdtemp, writeFile} from 'node:fs/promises'
import {createConnection} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {freePort} from './registry'

export const SSHD = '/usr/sbin/sshd'
export const SSH_KEYGEN = '/usr/bin/ssh-keygen'

export interface PrivateSshd {
  readonly dir: string
  readonly port: number
  readonly pid: number
  /** The client key sshd accepts. */
  readonly key: string
  /** A key sshd does not accept. */
  readonly otherKey: string
  /** For CTR_SSH_COMMAND: /usr/bin/ssh with no config, this test's known hosts and `key`. */
  sshCommand(key?: string): string
  /** `ssh://root@127.0.0.1:PORT<socket>`. */
  url(socket: string): string
  stop(): Promise<void>
}

export function sshdAvailable(): boolean {
  return existsSync(SSHD) && existsSync(SSH_KEYGEN) && existsSync('/usr/bin/ssh')
}

function keygen(path: string): void {
  execFileSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'ctr-test', '-f', path])
}

export async function startSshd(): Promise<PrivateSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-sshd-'))
  const hostKey = join(dir, 'host_key')
  const key = join(dir, 'client_key')
  const otherKey = join(dir, 'other_key')
  keygen(hostKey)
  keygen(key)
  keygen(otherKey)
  const authorized = join(dir, 'authorized_keys')
  await writeFile(authorized, readFileSync(`${key}.pub`), {mode: 0o600})
  const knownHosts = join(dir, 'known_hosts')
  const port = await freePort()
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
  const config = join(dir, 'sshd_config')
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM no',
      'StrictModes no',
      'AllowStreamLocalForwarding yes',
      'X11Forwarding no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  )
  // sshd wants its privilege separation directory (Debian's package makes it at boot, not at install).
  if (!existsSync('/run/sshd')) execFileSync('/usr/bin/mkdir', ['-p', '-m', '0755', '/run/sshd'])
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const pid = child.pid!
  await waitForPort(port, child, () => stderr)
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit))
      process.kill(pid, 'SIGTERM')
      await exited
    }
    rmSync(dir, {recursive: true, force: true})
  }
  return {
    dir,
    port,
    pid,
    key,
    otherKey,
    sshCommand: (identity = key) =>
      `/usr/bin/ssh -F /dev/null -i ${identity} -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes`,
    url: (socket) => `ssh://root@127.0.0.1:${port}${socket}`,
    stop,
  }
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const until = Date.now() + 10_000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${stderr()}`)
    const open = await new Promise<boolean>((resolveOpen) => {
      const socket = createConnection({host: '127.0.0.1', port})
      socket.once('connect', () => {
        socket.destroy()
        resolveOpen(true)
      })
      socket.once('error', () => resolveOpen(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`sshd did not listen on ${port}: ${stderr()}`)
}

/** PIDs of live ssh client processes whose parent is `parent` (from /proc; no process is signalled). */
export function sshChildrenOf(parent: number): number[] {
  const found: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (comm === 'ssh' && Number(fields[1]) === parent && fields[0] !== 'Z') found.push(Number(name))
    } catch {
      // gone
    }
  }
  return found
}

/** Whether PID is a live process (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** ssh processes (comm "ssh") with an argument that holds every one of `texts` (a tunnel directory, ctr's PID). */
export function sshProcessesNaming(...texts: string[]): number[] {
  const found: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'ssh' || !alive(Number(name))) continue
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      if (args.some((arg) => texts.every((text) => arg.includes(text)))) found.push(Number(name))
    } catch {
      // gone
    }
  }
  return found
}

/** The tunnel directories (ctr-ssh-*) in tmpdir. */
export function tunnelDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('ctr-ssh-'))
}
