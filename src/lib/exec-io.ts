/**
 * Stdio for an attached exec: three FIFOs in a private 0700 directory, wired to ctr's own stdin, stdout
 * and stderr (CONTAINERD-NOTES "Stdio" and "FIFOs without blocking the libuv threadpool"):
 * - read ends are opened O_NONBLOCK before Tasks.Exec (the shim blocks on them otherwise) and read through
 *   net.Socket, which is epoll-driven and never parks a threadpool thread;
 * - stdin is held O_RDWR so opening it never blocks; EOF reaches the process through Tasks.CloseIO;
 * - with a terminal, stderr is '' (the pty merges it), ctr's stdin is raw, and the window size follows
 *   SIGWINCH through Tasks.ResizePty.
 */
import {execFile} from 'node:child_process'
import {closeSync, constants as fsConstants, openSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {TasksDefinition} from '../gen/containerd/services/tasks/v1/tasks'
import type {ContainerdClient} from './containerd/client'
import {CtrError} from './containerd/errors'
import type {ExecIo} from './exec'

const {O_NONBLOCK, O_RDONLY, O_RDWR} = fsConstants

export async function attachedExecIo(client: ContainerdClient, execId: string, terminal: boolean): Promise<ExecIo> {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-exec-'))
  const paths = {stdin: join(dir, `${execId}-stdin`), stdout: join(dir, `${execId}-stdout`), stderr: terminal ? '' : join(dir, `${execId}-stderr`)}
  const sockets: Socket[] = []
  const fds: number[] = []
  let rawMode = false
  let closed = false
  const cleanups: Array<() => void> = []

  const close = async () => {
    if (closed) return
    closed = true
    for (const cleanup of cleanups.splice(0)) cleanup()
    for (const socket of sockets) socket.destroy()
    for (const fd of fds.splice(0)) {
      try {
        closeSync(fd)
      } catch {
        // already closed by its socket
      }
    }
    if (rawMode) process.stdin.setRawMode?.(false)
    await rm(dir, {recursive: true, force: true})
  }

  try {
    await promisify(execFile)('mkfifo', ['-m', '0600', ...[paths.stdin, paths.stdout, paths.stderr].filter(Boolean)])
    const reader = (path: string, target: NodeJS.WritableStream) => {
      const socket = new Socket({fd: openSync(path, O_RDONLY | O_NONBLOCK), readable: true, writable: false})
      sockets.push(socket)
      socket.pipe(target, {end: false})
      return new Promise<void>((resolve) => socket.once('close', () => resolve()))
    }
    const outputs = [reader(paths.stdout, process.stdout)]
    if (paths.stderr) outputs.push(reader(paths.stderr, process.stderr))
    const stdinFd = openSync(paths.stdin, O_RDWR | O_NONBLOCK)
    fds.push(stdinFd)

    return {
      ...paths,
      started({containerId, pid: _pid}) {
        const tasks = client.service(TasksDefinition)
        const stdinSocket = new Socket({fd: stdinFd, readable: false, writable: true})
        fds.splice(fds.indexOf(stdinFd), 1)
        sockets.push(stdinSocket)
        stdinSocket.on('error', () => undefined) // the process may exit without reading its input
        // EOF needs every writer of the FIFO gone: ours (held O_RDWR) once its data is flushed, then the
        // shim's own, which only Tasks.CloseIO closes.
        const closeStdin = () => {
          stdinSocket.end(() => {
            stdinSocket.destroy()
            void tasks.closeIO({containerId, execId, stdin: true}).catch(() => undefined)
          })
        }
        if (terminal && process.stdin.isTTY) {
          process.stdin.setRawMode(true)
          rawMode = true
          const resize = () => {
            const {columns, rows} = process.stdout
            if (columns && rows) void tasks.resizePty({containerId, execId, width: columns, height: rows}).catch(() => undefined)
          }
          resize()
          process.on('SIGWINCH', resize)
          cleanups.push(() => process.off('SIGWINCH', resize))
        }
        const onData = (chunk: Buffer) => stdinSocket.write(chunk)
        process.stdin.on('data', onData)
        process.stdin.once('end', closeStdin)
        cleanups.push(() => {
          process.stdin.off('data', onData)
          process.stdin.off('end', closeStdin)
          // Stop reading so ctr can exit while its stdin (a terminal, an open pipe) is still open.
          process.stdin.pause()
          if (!process.stdin.isTTY) process.stdin.destroy()
        })
      },
      async drained() {
        await Promise.all(outputs)
      },
      close,
    }
  } catch (error) {
    await close()
    throw error instanceof CtrError ? error : new CtrError('internal', `cannot create stdio FIFOs in ${dir}: ${(error as Error).message}`, {cause: error})
  }
}
