/**
 * One handle for a container process, a task's init or an exec, as the containerd Go client's `Process`:
 * create (recorded on the caller's UndoStack), wait, start, kill, close-IO, delete. And the one attached
 * run that start and exec share (runAttached): Wait before Start so a fast exit is never missed, ctr's
 * signals forwarded (or ctr's own interrupt held) across Start, exit or session end, drain.
 *
 *   const undo = new UndoStack()
 *   const process = await ContainerProcess.exec(client, request, undo)
 *   try { const {exitStatus} = await runAttached(process, io, {forwardSignals: true}) }
 *   finally { await undo.unwind(client, {signal}); await io.close() }
 */
import {constants} from 'node:os'

import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {Any} from '../../gen/google/protobuf/any'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import type {Leftover, UndoStack, UndoStep} from '../containerd/undo'
import {takeSignals} from '../signal-owners'
import {exitOrEnd, PROXIED_SIGNALS, type SessionEnd} from './attach'
import {removeExecProcess} from './exec-exits'
import {HeldUntilStarted} from './held-until-started'
import type {StdioPaths} from './stdio'
import {createTask, type CreateTaskOptions, type ExitStatus, removeTask, startTask, waitTask} from './tasks'

/** The signals ctr itself acts on (an interrupt, a terminal's hang-up): held while Tasks.Start is under way. */
export const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/** The stdio of an attached process: attach.ts's attachStdio, or any stand-in of the same shape (tests). */
export interface ProcessIo {
  /** FIFO paths (or '' for none) for Tasks.Create/Exec; read ends must already be open. */
  readonly paths: StdioPaths
  /** Called once the process has started: wire stdin (EOF → CloseIO), terminal mode and size. */
  started(target: {containerId: string; execId: string}): Promise<void>
  /** Resolves when the process's output has been copied, or after a grace period. */
  drained(): Promise<void>
  /** Removes FIFOs and restores the terminal; safe to call more than once and on every path. */
  close(): Promise<void>
  /** Resolves if the session must end before the process does (stdout failed, hang-up); see attach.ts. */
  readonly ended?: Promise<SessionEnd>
  endedBy?(): SessionEnd | undefined
}

/**
 * What Start does with the signals ctr receives, from just before Tasks.Start (the process may print, and
 * the user react, before Start answers): 'forward' passes attach.ts's PROXIED_SIGNALS to the process (those
 * that arrive before Start answers are held and delivered in order) until stopForwarding(); 'hold' holds
 * ctr's own interrupt (INTERRUPT_SIGNALS) until Start has answered, then hands it on; none: Ctrl-C cuts
 * Start off (a detached start rolls back).
 */
export type StartSignals = 'forward' | 'hold'

export interface ExecRequest {
  containerId: string
  execId: string
  stdio: StdioPaths
  terminal: boolean
  /** The OCI process spec, as Tasks.Exec takes it. */
  spec: Any
}

export class ContainerProcess {
  /** Known once created (init) or started (exec). */
  pid = 0
  private state: 'created' | 'started' | 'exited' = 'created'
  /** Start was cut off (deadline, Ctrl-C, connection lost): the process may run although Start never answered. */
  private mayRun = false
  private startAnswered = false
  private forwarding?: () => void
  /** Its removal on the caller's undo stack, until deleted or kept. */
  private step?: UndoStep

  private constructor(
    private readonly client: ContainerdClient,
    readonly containerId: string,
    /** '' for the task's init process. */
    readonly execId: string,
  ) {}

  /**
   * Tasks.Create: the container's init. Recorded on `undo` before the call (a Create cut off by a deadline
   * or Ctrl-C may have made the task after all); an existing task is not ours and is not recorded.
   */
  static async task(client: ContainerdClient, options: CreateTaskOptions, undo: UndoStack, call: CallOptions = {}): Promise<ContainerProcess> {
    const process = new ContainerProcess(client, options.id, '')
    process.step = undo.defer((c) => process.remove(c), {what: 'maybe a task and its shim', inFlight: process.label})
    try {
      process.pid = (await createTask(client, options, call)).pid
    } catch (error) {
      if (error instanceof CtrError && error.kind === 'already-exists') process.step.dismiss()
      throw error
    }
    return process
  }

  /** Tasks.Exec: another process in the running task, recorded on `undo` once containerd has it. */
  static async exec(client: ContainerdClient, request: ExecRequest, undo: UndoStack): Promise<ContainerProcess> {
    await client
      .service(TasksDefinition)
      .exec({containerId: request.containerId, execId: request.execId, ...request.stdio, terminal: request.terminal, spec: request.spec})
    const process = new ContainerProcess(client, request.containerId, request.execId)
    process.step = undo.defer((c) => process.remove(c), {what: `exec process "${request.execId}"`, inFlight: process.label})
    return process
  }

  /** `container "web"` or `exec "e1" in container "web"`: what may be left or still running. */
  get label(): string {
    return this.execId ? `exec "${this.execId}" in container "${this.containerId}"` : `container "${this.containerId}"`
  }

  get target(): {containerId: string; execId: string} {
    return {containerId: this.containerId, execId: this.execId}
  }

  /** Tasks.Start has answered (the process ran; it may have exited since). */
  get started(): boolean {
    return this.startAnswered
  }

  /** Tasks.Wait, no deadline: call it before start() so a fast exit is not missed. Never unhandled. */
  wait(signal?: AbortSignal): Promise<ExitStatus> {
    const exited = waitTask(this.client, this.containerId, {execId: this.execId, signal}).then((status) => {
      this.state = 'exited'
      return status
    })
    exited.catch(() => undefined) // observed by the caller; a failed start must not leave it unhandled
    return exited
  }

  /**
   * Tasks.Start; resolves with the PID once it has answered and `ready` (stdio wiring, labels: what must be
   * done before a held signal is acted on) has run. See StartSignals.
   */
  async start(options: {signals?: StartSignals; signal?: AbortSignal; ready?: (pid: number) => Promise<void>} = {}): Promise<number> {
    let release: () => Promise<void> = async () => undefined
    if (options.signals === 'forward') {
      const held = new HeldUntilStarted<number>((signal) => this.kill(signal).catch(() => undefined))
      this.forwarding = takeSignals(PROXIED_SIGNALS, (name) => held.push(constants.signals[name]))
      release = () => held.release()
    } else if (options.signals === 'hold') {
      let below: (signal: NodeJS.Signals) => void = () => undefined
      const held = new HeldUntilStarted<NodeJS.Signals>((signal) => below(signal), 'first')
      const giveBack = takeSignals(INTERRUPT_SIGNALS, (signal, next) => {
        below = next
        held.push(signal)
      })
      release = async () => {
        giveBack()
        await held.release()
      }
    }
    let failed = false
    try {
      const {pid} = await startTask(this.client, this.containerId, {execId: this.execId, signal: options.signal})
      this.pid = pid
      this.startAnswered = true
      if (this.state === 'created') this.state = 'started'
      await options.ready?.(pid)
      return pid
    } catch (error) {
      failed = true
      if (error instanceof CtrError && ['cancelled', 'deadline-exceeded', 'unavailable'].includes(error.kind)) this.mayRun = true
      throw error
    } finally {
      // Forwarded signals of a process that never ran are dropped; ctr's own interrupt is acted on.
      if (failed) this.stopForwarding()
      await release()
    }
  }

  /** Stops passing ctr's signals to the process (start's 'forward'); idempotent. */
  stopForwarding(): void {
    this.forwarding?.()
    this.forwarding = undefined
  }

  async kill(signal: number): Promise<void> {
    await this.client.service(TasksDefinition).kill({containerId: this.containerId, execId: this.execId, signal, all: false})
  }

  /** Closes the process's stdin on the shim's side (after ctr's end of the FIFO is flushed and closed). */
  async closeIO(): Promise<void> {
    await this.client.service(TasksDefinition).closeIO({containerId: this.containerId, execId: this.execId, stdin: true})
  }

  /** Tasks.Delete (init) or DeleteProcess (exec) of an exited process; resolves with its exit status. */
  async delete(client: ContainerdClient = this.client): Promise<ExitStatus> {
    const tasks = client.service(TasksDefinition)
    const {exitStatus, exitedAt} = this.execId
      ? await tasks.deleteProcess({containerId: this.containerId, execId: this.execId})
      : await tasks.delete({containerId: this.containerId})
    this.step?.dismiss()
    return {exitStatus, exitedAt}
  }

  /** Lets go of the process: it runs on, the user's (no longer removed when the undo stack unwinds). */
  keep(): void {
    this.stopForwarding()
    this.step?.dismiss()
  }

  /** Makes sure the process is gone: SIGKILL and wait if it may still run, then delete (the undo step). */
  async remove(client: ContainerdClient = this.client): Promise<void> {
    this.stopForwarding()
    if (!this.execId) {
      await removeTask(client, this.containerId)
      return
    }
    // Exited or never started: straight to DeleteProcess (one call on every attached exec's way out).
    if (this.state === 'started' || this.mayRun) await removeExecProcess(client, this.containerId, this.execId, {force: true, waitMs: 5000})
    else await this.delete(client).catch(unlessGone)
  }
}

function unlessGone(error: unknown): void {
  if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
}

export interface RunAttachedOptions {
  /** Pass ctr's signals to the process (attach.ts PROXIED_SIGNALS) while it runs; else ctr's interrupt is held across Start. */
  forwardSignals?: boolean
  /** Aborts the wait (Ctrl-C without forwarding, --timeout): runAttached then rejects. */
  signal?: AbortSignal
  /** Runs once Start has answered, before the stdio is wired and before any held signal is acted on. */
  afterStart?: () => Promise<void>
}

/**
 * Starts a created process with its stdio attached and resolves with its exit once its output has been
 * copied. Rejects if the session ends first (stdout failed, hang-up: the process was told, see exitOrEnd),
 * if waiting is aborted, or if containerd goes away: removing (or keeping) the process is the caller's
 * undo stack's business.
 */
export async function runAttached(process: ContainerProcess, io: ProcessIo, options: RunAttachedOptions = {}): Promise<ExitStatus> {
  const stopWaiting = new AbortController()
  const exited = process.wait(options.signal ? AbortSignal.any([options.signal, stopWaiting.signal]) : stopWaiting.signal)
  try {
    await process.start({
      signals: options.forwardSignals ? 'forward' : 'hold',
      signal: options.signal,
      ready: async () => {
        await options.afterStart?.()
        await io.started(process.target)
      },
    })
    const outcome = await exitOrEnd(exited, io, (signal) => process.kill(signal))
    // stdout broke or the terminal hung up: the process was told (SIGPIPE/SIGHUP); the caller cleans up.
    if (outcome.end) throw outcome.end.error
    // Output still in the pipes arrives after the exit (drained() gives up after a grace period, so a
    // background child holding them open cannot hang ctr).
    await io.drained()
    const late = io.endedBy?.()
    if (late) throw late.error // stdout broke after the process had written its last (`| head -1`)
    return outcome.exit
  } finally {
    stopWaiting.abort()
    process.stopForwarding()
  }
}

/**
 * The error of an attached process whose connection to containerd was lost, once the undo stack has tried
 * to remove it until containerd answered again: what was done, or what may still be running.
 */
export function lostConnection(error: CtrError, running: string, left: Leftover | undefined): CtrError {
  const tail = left ? `${running} may still be running` : `containerd answered again and ${running} was stopped and cleaned up`
  return new CtrError(error.kind, `${error.message}; ${tail}`, {cause: error, exitCode: error.exitCode})
}
