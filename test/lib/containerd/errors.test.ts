import {describe, expect, it} from 'vitest'

import {CtrError, EXIT, fromGrpcError} from '../../../src/lib/containerd/errors'

const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} X: ${details}`), {code, details})
const ctx = {address: '/run/x.sock'}

describe('fromGrpcError', () => {
  it('names the container and namespace for NOT_FOUND', () => {
    const error = fromGrpcError(grpcError(5, 'container "web" in namespace "default": not found'), ctx)
    expect(error.kind).toBe('not-found')
    expect(error.message).toBe('container "web" not found in namespace "default"')
    expect(error.exitCode).toBe(EXIT.failure)
  })

  it('names the address and reason for connection failures', () => {
    expect(fromGrpcError(grpcError(14, 'No connection established. Last error: connect ENOENT /run/x.sock'), ctx).message).toBe(
      'cannot connect to containerd at /run/x.sock: no such file',
    )
    expect(fromGrpcError(grpcError(14, 'connect ECONNREFUSED'), ctx).message).toMatch(/connection refused/)
    expect(fromGrpcError(grpcError(14, 'connect EACCES /run/x.sock'), ctx).message).toMatch(/permission denied$/)
  })

  it('says which deadline passed', () => {
    const error = fromGrpcError(grpcError(4, 'Deadline exceeded'), {...ctx, timeoutMs: 1500})
    expect(error.kind).toBe('deadline-exceeded')
    expect(error.message).toContain('did not answer after 1500ms')
  })

  it('keeps runc text but drops the gRPC suffix, prefixed by the operation', () => {
    const error = fromGrpcError(grpcError(2, 'OCI runtime create failed: exec: "nope": executable file not found in $PATH: unknown'), {
      ...ctx,
      operation: 'start container "a"',
    })
    expect(error.message).toBe('start container "a": OCI runtime create failed: exec: "nope": executable file not found in $PATH')
  })

  it('passes CtrErrors through and wraps anything else', () => {
    const own = new CtrError('usage', 'bad')
    expect(fromGrpcError(own, ctx)).toBe(own)
    expect(fromGrpcError(new Error('boom'), ctx).kind).toBe('internal')
  })

  it('gives cancellation the interrupt exit code', () => {
    expect(fromGrpcError(grpcError(1, 'Cancelled on client'), {...ctx, cancelledByClient: true}).exitCode).toBe(EXIT.interrupted)
  })

  it('takes a CANCELLED the client did not ask for as the connection going away, whatever its text', () => {
    for (const details of ['Call cancelled', 'Cancelled on client']) {
      const error = fromGrpcError(grpcError(1, details), ctx)
      expect(error.kind).toBe('unavailable')
      expect(error.message).toBe('cannot connect to containerd at /run/x.sock: connection lost')
    }
    expect(fromGrpcError(grpcError(1, 'Call cancelled'), {...ctx, cancelledByClient: true}).kind).toBe('cancelled')
  })

  it("reads containerd's errdefs class from an UNKNOWN status, as Go's errgrpc.ToNative does", () => {
    const error = fromGrpcError(grpcError(2, 'failed parsing subscription filters: filters: parse error: invalid argument'), ctx)
    expect(error.kind).toBe('invalid-argument')
    expect(error.message).toBe('failed parsing subscription filters: filters: parse error: invalid argument')
    expect(fromGrpcError(grpcError(2, 'runc did not terminate: unknown'), ctx).kind).toBe('internal')
  })

  it('records the object containerd names, so callers need not read the text', () => {
    const subject = (code: number, details: string) => fromGrpcError(grpcError(code, details), ctx).subject
    expect(subject(5, 'container "web" in namespace "default": not found')).toEqual({type: 'container', id: 'web'})
    expect(subject(6, 'container "web": already exists')).toEqual({type: 'container', id: 'web'})
    expect(subject(5, 'task web not found')).toEqual({type: 'task', id: 'web'})
    expect(subject(3, 'snapshotter not loaded: zfs: invalid argument')).toEqual({type: 'snapshotter', id: 'zfs'})
    expect(subject(14, 'ref default/1/layer-sha256:ab locked for 2s (since 2024-01-01): unavailable')).toEqual({
      type: 'locked-ref',
      id: 'default/1/layer-sha256:ab',
    })
    expect(subject(9, 'cannot delete running task web: failed precondition')).toBeUndefined()
  })
})
