/**
 * The library API: the same client layer the CLI uses, without oclif.
 *
 *   import {Containerd} from '@ctr-dev/ctr'
 *   const ctr = new Containerd({address: '/run/containerd/containerd.sock', namespace: 'default'})
 *   console.log(await ctr.version())
 */
export {ContainerdClient, DEFAULT_ADDRESS, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_MS, socketPath} from './lib/containerd/client'
export type {CallOptions, ConnectOptions, ServiceClient} from './lib/containerd/client'
export {CtrError, EXIT, type ErrorKind} from './lib/containerd/errors'
export {getVersion, type VersionInfo} from './lib/version'
export {buildFilters, decodeEnvelope, streamEvents, watchEvents, type CtrEvent, type WatchStatus} from './lib/events'
export {cpuPercent, decodeMetrics, readMetrics, watchStats, type ContainerStats, type MetricsSample} from './lib/metrics'
export {Backoff, backoffDelay, type BackoffOptions} from './lib/backoff'
