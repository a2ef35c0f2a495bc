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
    expect(fromGrpcError(grpcError(1, 'Cancelled on client'), ctx).exitCode).toBe(EXIT.interrupted)
  })
})
