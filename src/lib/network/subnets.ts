/**
 * IPv4 subnets for the networks ctr makes: parsing a CIDR, the host's routes (/proc/net/route), overlap,
 * and the first free /24 for a network made without --subnet.
 */
import {readFile} from 'node:fs/promises'
import {isIPv4} from 'node:net'

import {usageError} from '../containerd/errors'

export interface Subnet {
  /** The network address as a 32-bit unsigned number. */
  base: number
  prefix: number
}

const ipToNumber = (ip: string): number => ip.split('.').reduce((value, part) => value * 256 + Number(part), 0)
export const numberToIp = (value: number): string => [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.')
const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0)

export const formatSubnet = (subnet: Subnet): string => `${numberToIp(subnet.base)}/${subnet.prefix}`

/** An IPv4 CIDR whose host bits are zero (10.8.0.0/24); one-line errors naming it. */
export function parseSubnet(text: string): Subnet {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text)
  const prefix = match ? Number(match[2]) : NaN
  if (!match || !isIPv4(match[1]) || prefix > 32) throw usageError(`invalid subnet "${text}": use an IPv4 CIDR such as 10.8.0.0/24`)
  if (prefix > 30) throw usageError(`subnet "${text}" is too small: use a prefix of /30 or shorter`)
  if (prefix < 8) throw usageError(`subnet "${text}" is too large: use a prefix of /8 or longer`)
  const base = ipToNumber(match[1])
  if ((base & mask(prefix)) >>> 0 !== base)
    throw usageError(`invalid subnet "${text}": host bits are set (did you mean ${formatSubnet({base: (base & mask(prefix)) >>> 0, prefix})}?)`)
  return {base, prefix}
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const common = mask(Math.min(a.prefix, b.prefix))
  return (a.base & common) >>> 0 === (b.base & common) >>> 0
}

/** The gateway address for `subnet`: `gateway` checked to be a host address in it, else the first one. */
export function gatewayFor(subnet: Subnet, gateway?: string): string {
  if (gateway === undefined) return numberToIp(subnet.base + 1)
  if (!isIPv4(gateway)) throw usageError(`invalid gateway "${gateway}": use an IPv4 address`)
  const value = ipToNumber(gateway)
  const last = subnet.base + 2 ** (32 - subnet.prefix) - 1
  if (value <= subnet.base || value >= last) throw usageError(`gateway ${gateway} is not a host address of ${formatSubnet(subnet)}`)
  return gateway
}

export interface HostRoute {
  iface: string
  subnet: Subnet
}

/** The host's IPv4 routes other than default ones, from /proc/net/route (little-endian hex fields). */
export async function hostRoutes(file = '/proc/net/route'): Promise<HostRoute[]> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const hex = (field: string): number => {
    const value = Number.parseInt(field, 16)
    return (((value & 255) << 24) | (((value >>> 8) & 255) << 16) | (((value >>> 16) & 255) << 8) | ((value >>> 24) & 255)) >>> 0
  }
  const routes: HostRoute[] = []
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 8) continue
    const maskValue = hex(fields[7])
    if (maskValue === 0) continue
    // A contiguous mask's prefix is the count of its leading ones: the leading zeros of its complement.
    const prefix = Math.clz32(~maskValue >>> 0)
    routes.push({iface: fields[0], subnet: {base: (hex(fields[1]) & maskValue) >>> 0, prefix}})
  }
  return routes
}

/** The first /24 in 10.8.0.0/16 that overlaps none of `taken`. */
export function firstFreeSubnet(taken: readonly Subnet[]): Subnet | undefined {
  for (let third = 0; third < 256; third++) {
    const candidate = {base: ipToNumber(`10.8.${third}.0`), prefix: 24}
    if (!taken.some((subnet) => overlaps(subnet, candidate))) return candidate
  }
  return undefined
}
