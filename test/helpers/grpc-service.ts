/**
 * grpc-js's untyped method definition for one method of a generated (ts-proto) service definition: how the
 * in-process fake daemons (fake-containerd.ts, fake-content-store.ts) serve containerd's services.
 */
import type * as grpc from '@grpc/grpc-js'

import type {ServiceDefinition} from '../../src/lib/containerd/client'

type Method = ServiceDefinition['methods'][string]

export function methodDefinition(definition: ServiceDefinition, method: Method): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/${definition.fullName}/${method.name}`,
    requestStream: method.requestStream,
    responseStream: method.responseStream,
    requestSerialize: (message: unknown) => Buffer.from(method.requestType.encode(message).finish()),
    requestDeserialize: (bytes: Buffer) => method.requestType.decode(bytes),
    responseSerialize: (message: unknown) => Buffer.from(method.responseType.encode(method.responseType.fromPartial(message)).finish()),
    responseDeserialize: (bytes: Buffer) => method.responseType.decode(bytes),
  }
}
