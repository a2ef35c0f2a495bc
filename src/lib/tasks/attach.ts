/**
 * Attaching a container process (a task's init or an exec) to ctr's own stdin, stdout and stderr, as
 * `start --attach` and `exec --attach` do:
 *
 *   const io = await attachStdio(client, {name: id, terminal})        // FIFOs ready, read ends open
 *   await tasks.create({containerId: id, ...io.paths, terminal})        // or tasks.exec({execId, ...})
 *   const exited = tasks.wait(...); await tasks.start(...)
 *   await io.started({containerId: id, execId: ''})                     // stdin, raw mode, window size
 *   await exited; await io.drained(); await io.close()                 // close() on every path
 *
 * (process.ts runAttached does this sequence, with the signal hand-off, for start and exec.)
 *
 * Stdin EOF becomes Tasks.CloseIO; with a terminal, ctr's stdin is put in raw mode from the start (Ctrl-C is
 * then a byte for the container, not a signal for ctr) and the window size follows SIGWINCH through
 * Tasks.ResizePty.
 * The terminal mode is restored by close(), and at process exit as a last resort.
 */
import {constants} from 'node:os'

import {TasksDefinition} from '../../gen/containerd/services/tasks/v1/tasks'
import type {ContainerdClient} from '../containerd/client'
import type {CtrError} from '../containerd/errors'
import {writeFailure} from '../write-failure'
import {createFifos, type StdioPaths} from './stdio'
import {refuseOverSsh} from '../ssh/remote'

/** How long after the process exits its remaining output may take to arrive (a child that inherited the
 * pipes and keeps running must not hang ctr). */
export const DRAIN_GRACE_MS = 2000

/** Signals a non-TTY attached session passes on to the process (Go ctr forwards all but SIGURG; these are
 * the ones a person or a supervisor sends and Node can catch). */
export const PROXIED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

export interface AttachOptions {
  /** Names the FIFOs: the container ID or exec ID. */
  name: string
  terminal: boolean
  /** Default process.stdin / process.stdout / process.stderr. */
  stdin?: NodeJS.ReadStream | NodeJS.ReadableStream
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  /** Parent of the FIFO directory (default $TMPDIR). */
  fifoParent?: string
  /**
   * Aborted when ctr's terminal hung up (SIGHUP): the session ends as for a broken stdout, but the process
   * is sent SIGHUP (what a terminal hang-up sends its session). The abort reason is the error to end with.
   */
  hangUp?: AbortSignal
}

/**
 * Why an attached session must end before its process does: ctr's stdout failed (EPIPE, ENOSPC, EIO) or its
 * terminal hung up. The process is sent `signal` (SIGPIPE or SIGHUP, what it would get from a real pipe or
 * terminal), SIGKILL after END_GRACE_MS; then clean-up runs as after an interrupt and ctr ends with `error`.
 */
export interface SessionEnd {
  error: CtrError
  signal: number
}

/** How long a process sent SIGPIPE or SIGHUP by a session end has to exit before SIGKILL. */
export const END_GRACE_MS = 1000

/** The process a session is attached to: '' execId for a task's init process. */
export interface AttachTarget {
  containerId: string
  execId?: string
}

export interface AttachedIo extends StdioPaths {
  /** The paths again, grouped, for spreading into Tasks.Create/Exec. */
  readonly paths: StdioPaths
  readonly terminal: boolean
  /** The private FIFO directory (gone after close()). */
  readonly dir: string
  /** Call once the process has started: forwards stdin (EOF → CloseIO) and the window size. */
  started(target: AttachTarget): Promise<void>
  /** Resolves when all output has been copied, or after graceMs (default DRAIN_GRACE_MS), whichever first. */
  drained(graceMs?: number): Promise<void>
  /** Stops forwarding, restores the terminal, closes and removes the FIFOs. Idempotent; call on every path. */
  close(): Promise<void>
  /** Resolves (never rejects) if the session must end early: stdout failed or the terminal hung up. */
  readonly ended: Promise<SessionEnd>
  /** The session end seen so far, if any (checked once the process has exited on its own). */
  endedBy(): SessionEnd | undefined
}

/** Creates the FIFOs (read ends open, output already flowing to ctr's stdout/stderr). */
export async function attachStdio(client: ContainerdClient, options: AttachOptions): Promise<AttachedIo> {
  const input = (options.stdin ?? process.stdin) as NodeJS.ReadStream
  const output = options.stdout ?? process.stdout
  const errors = options.stderr ?? process.stderr
  refuseOverSsh(client, 'an attached process (start or exec without --detach)', 'its stdio goes through FIFOs')
  const fifos = await createFifos({name: options.name, terminal: options.terminal, parentDir: options.fifoParent})
  const cleanups: Array<() => void> = []
  let end: SessionEnd | undefined
  let endSession: (reason: SessionEnd) => void = () => undefined
  const ended = new Promise<SessionEnd>((resolve) => {
    endSession = (reason) => {
      end ??= reason
      resolve(end)
    }
  })
  // Every write to ctr's stdout/stderr has an error path: stop copying, keep draining the FIFO (so the
  // process never blocks on a pipe nobody reads while it is being stopped), and for stdout end the session.
  const copy = (from: NodeJS.ReadableStream, to: NodeJS.WritableStream, name: 'stdout' | 'stderr') => {
    const onError = (error: Error) => {
      from.unpipe(to)
      from.resume()
      to.off('error', onError)
      to.on('error', () => undefined) // later errors of the same broken stream
      if (name === 'stdout') endSession({error: writeFailure('stdout', error), signal: constants.signals.SIGPIPE})
      // stderr: nothing more can be said there; the process keeps its output on stdout and its exit code.
    }
    to.on('error', onError)
    cleanups.push(() => to.off('error', onError))
    from.pipe(to, {end: false})
  }
  copy(fifos.stdout, output, 'stdout')
  if (fifos.stderr) copy(fifos.stderr, errors, 'stderr')
  const onHangUp = () => endSession({error: options.hangUp!.reason as CtrError, signal: constants.signals.SIGHUP})
  if (options.hangUp?.aborted) onHangUp()
  else options.hangUp?.addEventListener('abort', onHangUp, {once: true})
  cleanups.push(() => options.hangUp?.removeEventListener('abort', onHangUp))

  // Raw mode now, before the process starts: it may print a prompt before Tasks.Start even answers, and a
  // Ctrl-C typed then must reach it as a byte, not interrupt ctr.
  if (options.terminal && input.isTTY) cleanups.push(rawMode(input))
  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) cleanup()
      await fifos.close()
    })())

  const started = async (target: AttachTarget) => {
    const tasks = client.service(TasksDefinition)
    const ids = {containerId: target.containerId, execId: target.execId ?? ''}
    if (options.terminal) {
      let detached = false
      const resize = latestOnly(async () => {
        const size = detached ? undefined : windowSize(output, errors)
        if (size) await tasks.resizePty({...ids, width: size.columns, height: size.rows}).catch(() => undefined)
      })
      process.on('SIGWINCH', resize)
      cleanups.push(() => {
        process.off('SIGWINCH', resize)
        detached = true // a resize already queued behind a running one must not call containerd any more
      })
      await resize()
    }
    const stdin = fifos.stdin
    if (!stdin) return
    // Our writer is held O_RDWR: the process sees EOF only once our data is flushed, our end closed, and
    // the shim told to close its own (Go ctr does the same).
    // (An empty write's callback runs once everything written before it is flushed; end() would try a
    // socket shutdown, which a FIFO does not support.)
    const closeStdin = () => {
      stdin.write('', () => {
        stdin.destroy()
        void tasks.closeIO({...ids, stdin: true}).catch(() => undefined)
      })
    }
    const onData = (chunk: Buffer) => {
      if (!stdin.write(chunk)) {
        input.pause()
        stdin.once('drain', () => input.resume())
      }
    }
    input.on('data', onData)
    input.once('end', closeStdin)
    input.resume()
    cleanups.push(() => {
      input.off('data', onData)
      input.off('end', closeStdin)
      // Stop reading so ctr can exit while its stdin (a terminal, a pipe left open) is still open.
      input.pause()
      if (!input.isTTY && typeof (input as {destroy?: () => void}).destroy === 'function') (input as {destroy: () => void}).destroy()
    })
  }

  const drained = (graceMs = DRAIN_GRACE_MS) => Promise.race([fifos.outputClosed, new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref())])

  return {...fifos.paths, paths: fifos.paths, terminal: options.terminal, dir: fifos.dir, started, drained, close, ended, endedBy: () => end}
}

/**
 * Waits for the process's exit, or for the session's end (stdout failed, hang-up): then sends the process
 * the end's signal and gives it END_GRACE_MS to exit (the caller's clean-up SIGKILLs what is left).
 */
export async function exitOrEnd<E>(
  exited: Promise<E>,
  io: {ended?: Promise<SessionEnd>},
  kill: (signal: number) => Promise<unknown>,
): Promise<{exit: E; end?: undefined} | {exit?: undefined; end: SessionEnd}> {
  const first = await Promise.race([exited.then((exit) => ({exit})), ...(io.ended ? [io.ended.then((end) => ({end}))] : [])])
  if (!('end' in first) || !first.end) return first as {exit: E}
  await kill(first.end.signal).catch(() => undefined)
  await Promise.race([exited.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, END_GRACE_MS).unref())])
  return {end: first.end}
}

/**
 * Runs `task` one call at a time: a call while one is under way makes one more run after it (several
 * collapse into one). For ResizePty: concurrent calls may be applied in any order, so a stale size could
 * land last (`stty cols 120 rows 40` is two resizes); each run reads the size afresh, so the last one wins.
 * The returned promise resolves once a run that started after this call has finished; a run's failure is
 * ignored (best effort, like the resize itself).
 */
export function latestOnly(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined
  let again: Promise<void> | undefined
  const run = (): Promise<void> => {
    if (!running) {
      running = task()
        .catch(() => undefined)
        .finally(() => {
          running = undefined
        })
      return running
    }
    again ??= running.then(() => {
      again = undefined
      return run()
    })
    return again
  }
  return run
}

/** Puts a TTY stdin in raw mode; returns the restore function (also run at process exit, as a last resort). */
export function rawMode(input: NodeJS.ReadStream): () => void {
  if (!input.isTTY || typeof input.setRawMode !== 'function') return () => undefined
  const wasRaw = input.isRaw
  input.setRawMode(true)
  // Stopped (SIGTSTP) and resumed with `fg` (SIGCONT): the shell has put the terminal back in its own mode
  // meanwhile. libuv thinks it is still raw (setRawMode(true) alone would do nothing): leave and re-enter.
  const reenter = () => {
    try {
      input.setRawMode(false)
      input.setRawMode(true)
    } catch {
      // the terminal is gone
    }
  }
  process.on('SIGCONT', reenter)
  const restore = () => {
    process.off('exit', restore)
    process.off('SIGCONT', reenter)
    try {
      input.setRawMode(wasRaw)
    } catch {
      // the terminal is gone (hang-up): nothing to restore
    }
  }
  process.on('exit', restore)
  return restore
}

/** The window size of the first TTY among ctr's outputs. */
export function windowSize(...streams: NodeJS.WritableStream[]): {columns: number; rows: number} | undefined {
  for (const stream of streams) {
    const tty = stream as NodeJS.WriteStream
    if (tty.isTTY && tty.columns && tty.rows) return {columns: tty.columns, rows: tty.rows}
  }
  return undefined
}
