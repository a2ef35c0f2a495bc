/**
 * Runs a command on a real pseudo-terminal (its controlling terminal), scripted by pty-run.py: wait for
 * output, then resize the window, type, or send a signal. For `--tty` tests.
 *
 *   const r = await runInPty(['node', CLI, 'containers', 'start', '-a', '-t', 'x', bundle], {env, steps: [{wait: '24 80', resize: [30, 100]}]})
 *   r.code, r.output, r.modeRestored
 */
import {execFile} from 'node:child_process'
import {join} from 'node:path'

export interface PtyStep {
  /** Regular expression the output must match (after the previous step's match) before this step acts. */
  wait: string
  resize?: [rows: number, cols: number]
  write?: string
  /** Signal name without SIG, sent to the command. */
  signal?: string
  /** Seconds to wait before acting. */
  sleep?: number
  /** Put the terminal back in the mode it had before the command ran (what a shell does when a job stops). */
  cooked?: boolean
  /** Record whether the terminal is in raw mode 0.3 s after this step (PtyResult.probes). */
  probe?: boolean
}

export interface PtyResult {
  /** Exit code, or minus the signal number. */
  code: number
  output: string
  /** The terminal's attributes after the run equal those before (stty -g would print the same). */
  modeRestored: boolean
  /** Steps whose output never came. */
  pendingSteps: number
  /** One per probe step: the terminal was in raw mode then. */
  probes: boolean[]
}

/**
 * A pseudo-terminal stands for a person watching it, so the environment must not say otherwise: CI (which
 * ctr reads as "a log, not a person", also on a runner's pseudo-terminal) is removed and a missing or dumb
 * TERM becomes xterm. Without this, a test passes on a workstation and fails in CI.
 */
function asPersonAtTerminal(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {CI: _ci, ...rest} = env
  return {...rest, TERM: !rest.TERM || rest.TERM === 'dumb' ? 'xterm' : rest.TERM}
}

export function runInPty(
  argv: string[],
  options: {env?: NodeJS.ProcessEnv; size?: [number, number]; steps?: PtyStep[]; timeoutSec?: number} = {},
): Promise<PtyResult> {
  const config = {
    argv,
    env: asPersonAtTerminal(options.env ?? process.env),
    size: options.size ?? [24, 80],
    steps: options.steps ?? [],
    timeout: options.timeoutSec ?? 20,
  }
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [join(__dirname, 'pty-run.py'), JSON.stringify(config)],
      {timeout: (config.timeout + 10) * 1000, maxBuffer: 16 << 20},
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`pty-run.py failed: ${error.message}\n${stderr}`))
        const result = JSON.parse(stdout) as {code: number; output: string; before: string; after: string; pendingSteps: number; probes: boolean[]}
        resolve({
          code: result.code,
          output: result.output,
          modeRestored: result.before === result.after,
          pendingSteps: result.pendingSteps,
          probes: result.probes,
        })
      },
    )
  })
}
