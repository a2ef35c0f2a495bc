import {expect} from 'vitest'

import {GrpcStatusError} from '../../src/lib/containerd/transport'

/** The GrpcStatusError a transport call failed with (and a failed assertion if it did not fail so). */
export async function failure(promise: Promise<unknown>): Promise<GrpcStatusError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(GrpcStatusError)
  return error as GrpcStatusError
}
