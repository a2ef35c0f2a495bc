/**
 * What network tests make and must not leave: namespaces made with `ip netns add` (unique names), the
 * bridge's ports (veths), iptables rules, host-local leases, ctr's attachment records.
 */
import {execFile} from 'node:child_process'
import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)
export const IP = '/usr/sbin/ip'

export async function addNetns(name: string): Promise<string> {
  await run(IP, ['netns', 'add', name])
  return `/run/netns/${name}`
}

export async function removeNetns(name: string): Promise<void> {
  await run(IP, ['netns', 'delete', name]).catch(() => undefined)
}

/** Runs a command in a namespace `ip netns add` made. */
export function inNetns(name: string, args: string[]): Promise<{stdout: string; stderr: string}> {
  return run(IP, ['netns', 'exec', name, ...args], {timeout: 20_000})
}

/** iptables-save of every table, counters dropped, as a set of lines. */
export async function iptablesLines(): Promise<Set<string>> {
  const {stdout} = await run('/usr/sbin/iptables-save', [], {maxBuffer: 64 * 1024 * 1024})
  return new Set(
    stdout
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.replace(/ \[\d+:\d+\]$/, '')),
  )
}

/**
 * Chains and jumps the plugins make once per host and never remove (CNI-FORWARD, the portmap chains): not a
 * container's leftovers, nor are the built-in chains of a table first used. Everything else new after a test is.
 */
const SHARED =
  /^(:[A-Z]+ (ACCEPT|DROP)$|:CNI-(FORWARD|ADMIN|HOSTPORT-(DNAT|SNAT|MASQ|SETMARK)) |-A (FORWARD|PREROUTING|OUTPUT|POSTROUTING) .*-j CNI-(FORWARD|HOSTPORT-(DNAT|SNAT|MASQ))$|-A CNI-FORWARD .*-j CNI-ADMIN$|-A CNI-HOSTPORT-(SETMARK|MASQ) |\*|COMMIT)/

export function newRules(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((line) => !before.has(line) && !SHARED.test(line))
}

/** The ports of a bridge (veths of attached namespaces); [] when the bridge is absent. */
export async function bridgePorts(bridge: string): Promise<string[]> {
  return (await readdir(`/sys/class/net/${bridge}/brif`).catch(() => [] as string[])).sort()
}

/** host-local's leases of a network (files named for addresses). */
export async function leases(network: string): Promise<string[]> {
  return (await readdir(join('/var/lib/cni/networks', network)).catch(() => [] as string[]))
    .filter((file) => /^[\d.:a-f]+$/.test(file) && file.includes('.'))
    .sort()
}

/** Every file under dir other than the lock directory's (ctr's attachment records). */
export async function records(stateDir: string): Promise<string[]> {
  const entries = await readdir(stateDir, {recursive: true}).catch(() => [] as string[])
  return entries
    .map(String)
    .filter((entry) => !entry.startsWith('.locks') && entry.endsWith('.json'))
    .sort()
}
