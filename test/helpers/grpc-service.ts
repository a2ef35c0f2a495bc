/**
 * What the in-process fake daemons (fake-containerd.ts, fake-content-store.ts) share to serve containerd's
 * services with grpc-js: the untyped method definition of a generated (ts-proto) method, unary methods as
 * recorded, replaceable handlers, gRPC status errors, and the unix socket.
 */
import * as grpc from '@grpc/grpc-js'

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

/** Replaces a unary method's behaviour: return the response (a partial message) or throw statusError(...). */
export type Handler = (request: any, namespace: string) => unknown | Promise<unknown>

export function statusError(code: number, details: string): Error & {code: number; details: string} {
  return Object.assign(new Error(details), {code, details})
}

/** A unary method: the request recorded with its namespace header, then answered by its handler. */
export function unaryMethod(
  fullMethod: string,
  handlers: ReadonlyMap<string, Handler>,
  recorded: Array<{method: string; namespace: string; request: unknown}>,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const namespace = String(call.metadata.get('containerd-namespace')[0] ?? '')
    recorded.push({method: fullMethod, namespace, request: call.request})
    const handler = handlers.get(fullMethod)
    if (!handler) return callback(statusError(grpc.status.UNIMPLEMENTED, `${fullMethod} not implemented by the fake`))
    Promise.resolve()
      .then(() => handler(call.request, namespace))
      .then(
        (response) => callback(null, response ?? {}),
        (error) => callback(typeof error?.code === 'number' ? error : statusError(grpc.status.UNKNOWN, String(error?.message ?? error))),
      )
  }
}

/** Serves on a unix socket. */
export function bindUnix(server: grpc.Server, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${address}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  )
}
