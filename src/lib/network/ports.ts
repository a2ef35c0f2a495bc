/**
 * Published ports: docker's `[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]`, and whether a host port is free.
 * The portmap plugin publishes through DNAT rules, not a listening socket, so "taken" means either: a
 * process on the host holds it (found by binding it for a moment), or another attachment ctr recorded
 * publishes it (attach.ts checks its records).
 */
import {createSocket} from 'node:dgram'
import {createServer, isIP, isIPv4} from 'node:net'

import {CtrError, usageError} from '../containerd/errors'
import type {PortMapping} from './cni'

const SYNTAX = '[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]'

function port(text: string, what: string, spec: string): number {
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  if (!(value >= 1 && value <= 65535)) throw usageError(`invalid ${what} "${text}" in "${spec}": use a number from 1 to 65535`)
  return value
}

/** One -p value; throws a one-line usage error naming it. */
export function parsePublish(spec: string): PortMapping {
  let rest = spec
  let protocol: 'tcp' | 'udp' = 'tcp'
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    const proto = rest.slice(slash + 1).toLowerCase()
    if (proto !== 'tcp' && proto !== 'udp') throw usageError(`invalid protocol "${rest.slice(slash + 1)}" in "${spec}": use tcp or udp`)
    protocol = proto
    rest = rest.slice(0, slash)
  }
  let hostIP: string | undefined
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest)
  if (bracketed) {
    hostIP = bracketed[1]
    rest = bracketed[2]
  }
  const parts = rest.split(':')
  if (!hostIP && parts.length === 3) hostIP = parts.shift()
  if (parts.length !== 2 || parts.some((part) => part === '')) throw usageError(`invalid port publication "${spec}": use ${SYNTAX}`)
  if (hostIP !== undefined && !isIP(hostIP)) throw usageError(`invalid host address "${hostIP}" in "${spec}": use an IP address`)
  const mapping: PortMapping = {hostPort: port(parts[0], 'host port', spec), containerPort: port(parts[1], 'container port', spec), protocol}
  if (hostIP !== undefined && hostIP !== '0.0.0.0' && hostIP !== '::') mapping.hostIP = hostIP
  return mapping
}

/** `127.0.0.1:8080/tcp` (`*:8080/tcp` for every address): how errors name a published port. */
export function describePort(mapping: PortMapping): string {
  const ip = mapping.hostIP === undefined ? '*' : isIPv4(mapping.hostIP) ? mapping.hostIP : `[${mapping.hostIP}]`
  return `${ip}:${mapping.hostPort}/${mapping.protocol}`
}

/** Whether two mappings want the same host port (same protocol and port, and an address in common). */
export function samePort(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP)
}

/** Throws when a process on the host holds the port: binds it for a moment (already-exists, naming it). */
export async function checkHostPortFree(mapping: PortMapping): Promise<void> {
  const host = mapping.hostIP ?? '0.0.0.0'
  const failure = (error: NodeJS.ErrnoException): CtrError =>
    error.code === 'EADDRINUSE'
      ? new CtrError('already-exists', `host port ${describePort(mapping)} is already in use`)
      : error.code === 'EADDRNOTAVAIL'
        ? new CtrError('usage', `host address ${mapping.hostIP} of "${describePort(mapping)}" is not an address of this host`)
        : new CtrError('internal', `cannot check host port ${describePort(mapping)}: ${error.message}`)
  if (mapping.protocol === 'udp') {
    const socket = createSocket(isIPv4(host) ? 'udp4' : 'udp6')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error) => reject(failure(error)))
      socket.bind({port: mapping.hostPort, address: host, exclusive: true}, () => resolve())
    }).finally(() => new Promise<void>((resolve) => socket.close(() => resolve())).catch(() => undefined))
    return
  }
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(failure(error)))
    server.listen({port: mapping.hostPort, host, exclusive: true}, () => resolve())
  })
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
