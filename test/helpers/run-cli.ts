/**
 * Runs the built CLI (bin/run.js → dist/cli.js) as a subprocess, as a shell script would, with a hard
 * timeout so a hang fails the test instead of stalling the suite.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {join} from 'node:path'

export const CLI = join(__dirname, '..', '..', 'bin', 'run.js')

export interface RunOptions {
  address?: string
  namespace?: string
  /** Written to stdin, then stdin is closed. Without it stdin is closed at once. */
  input?: string
  env?: Record<string, string | undefined>
  /** Kill the child and fail after this long (default 30 s). */
  timeoutMs?: number
  /** The CLI's working directory (default: this process's). */
  cwd?: string
}

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** The environment for the CLI: the test daemon's address and namespace, nothing from the caller's shell. */
export function cliEnv(options: RunOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, CONTAINERD_ADDRESS: options.address, CONTAINERD_NAMESPACE: options.namespace}
  delete env.FORCE_COLOR
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  if (!env.CONTAINERD_ADDRESS) delete env.CONTAINERD_ADDRESS
  if (!env.CONTAINERD_NAMESPACE) delete env.CONTAINERD_NAMESPACE
  return env
}

/** Starts the CLI and returns the child, for tests that read its output while it runs. */
export function spawnCli(args: readonly string[], options: RunOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {env: cliEnv(options), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe']})
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnCli(args, options)
  const timeoutMs = options.timeoutMs ?? 30_000
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`ctr ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
    child.stdin!.on('error', () => {}) // the CLI may exit before reading all input
    child.stdin!.end(options.input ?? '')
  })
}
