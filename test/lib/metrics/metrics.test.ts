import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {cpuPercent, decodeMetrics, type MetricsSample, METRICS_V1_TYPE, METRICS_V2_TYPE, toStats} from '../../../src/lib/metrics/metrics'
import {Metrics as MetricsV1} from '../../../src/gen/cgroups/v1/metrics'
import {Metrics as MetricsV2} from '../../../src/gen/cgroups/v2/metrics'

const fixture = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'metrics-v2.json'), 'utf8'))
const at = new Date('2026-11-22T21:00:00.000Z')

/** A v1 payload shaped like the one containerd 1.6.20 returned here for a busybox `sleep` (ctr t metrics). */
const v1Payload = () =>
  MetricsV1.encode(
    MetricsV1.fromPartial({
      pids: {current: 1n, limit: 0n},
      cpu: {usage: {total: 6213006n, perCpu: [1320875n, 4892131n]}},
      memory: {cache: 1662976n, totalInactiveFile: 1327104n, usage: {usage: 2080768n, limit: 9223372036854771712n, max: 2772992n}},
      blkio: {
        ioServiceBytesRecursive: [
          {op: 'Read', major: 8n, minor: 0n, value: 4096n},
          {op: 'Write', major: 8n, minor: 0n, value: 8192n},
          {op: 'Sync', major: 8n, minor: 0n, value: 12288n},
          {op: 'Read', major: 253n, minor: 0n, value: 1000n},
        ],
      },
    }),
  ).finish()

describe('decodeMetrics v1 (these machines)', () => {
  it('reads cpu, memory minus inactive file, no limit, pids, block I/O by op', () => {
    const sample = decodeMetrics('redis', at, {typeUrl: METRICS_V1_TYPE, value: Buffer.from(v1Payload())})
    expect(sample).toEqual({
      id: 'redis',
      timestamp: at,
      cgroup: 'v1',
      cpuNs: 6213006,
      memoryUsage: 2080768 - 1327104,
      memoryLimit: undefined,
      pids: 1,
      pidsLimit: undefined,
      blkRead: 5096,
      blkWrite: 8192,
    })
  })

  it('reports network only when present', () => {
    const value = MetricsV1.encode(
      MetricsV1.fromPartial({
        network: [
          {name: 'eth0', rxBytes: 100n, txBytes: 50n},
          {name: 'lo', rxBytes: 1n, txBytes: 2n},
        ],
        memory: {usage: {usage: 10n, limit: 1024n}},
        pids: {current: 2n, limit: 64n},
      }),
    ).finish()
    expect(decodeMetrics('c', at, {typeUrl: METRICS_V1_TYPE, value: Buffer.from(value)})).toMatchObject({
      netRx: 101,
      netTx: 52,
      memoryLimit: 1024,
      pidsLimit: 64,
    })
  })
})

describe('decodeMetrics v2 (recorded payload, hand-encoded from the proto field numbers)', () => {
  const value = Buffer.from(fixture.valueBase64, 'base64')

  it('decodes through the Any by type name', () => {
    const sample = decodeMetrics('web', new Date(fixture.timestamp), {typeUrl: fixture.typeUrl, value})
    const v = fixture.values
    expect(sample).toEqual({
      id: 'web',
      timestamp: new Date(fixture.timestamp),
      cgroup: 'v2',
      cpuNs: v.cpu.usage_usec * 1000,
      memoryUsage: v.memory.usage - v.memory.inactive_file,
      memoryLimit: v.memory.usage_limit,
      pids: v.pids.current,
      pidsLimit: v.pids.limit,
      blkRead: v.io[0].rbytes + v.io[1].rbytes,
      blkWrite: v.io[0].wbytes + v.io[1].wbytes,
    })
  })

  it('matches every field of the generated type (field numbers agree with the proto)', () => {
    const m = MetricsV2.decode(value)
    const v = fixture.values
    expect(m.cpu).toMatchObject({
      usageUsec: BigInt(v.cpu.usage_usec),
      userUsec: BigInt(v.cpu.user_usec),
      systemUsec: BigInt(v.cpu.system_usec),
      throttledUsec: BigInt(v.cpu.throttled_usec),
    })
    expect(m.memory).toMatchObject({
      anon: BigInt(v.memory.anon),
      file: BigInt(v.memory.file),
      pgmajfault: BigInt(v.memory.pgmajfault),
      swapLimit: BigInt(v.memory.swap_limit),
    })
    expect(m.io?.usage.map((e) => [e.major, e.minor, e.rios])).toEqual([
      [8n, 0n, 207n],
      [259n, 0n, 16n],
    ])
    expect(m.hugetlb[0].pagesize).toBe('2MB')
    expect(m.memoryEvents?.high).toBe(2n)
  })

  it('treats max (2^64-1) memory and pids as unlimited', () => {
    const unlimited = MetricsV2.encode(
      MetricsV2.fromPartial({memory: {usage: 100n, usageLimit: 18446744073709551615n}, pids: {current: 1n, limit: 18446744073709551615n}}),
    ).finish()
    expect(decodeMetrics('c', at, {typeUrl: 'type.googleapis.com/' + METRICS_V2_TYPE, value: Buffer.from(unlimited)})).toMatchObject({
      memoryLimit: undefined,
      pidsLimit: undefined,
      memoryUsage: 100,
    })
  })

  it('refuses an unknown metrics type by name', () => {
    expect(() => decodeMetrics('c', at, {typeUrl: 'io.example.Metrics', value: Buffer.alloc(0)})).toThrow(/io\.example\.Metrics/)
  })
})

describe('cpuPercent', () => {
  const sample = (ms: number, cpuNs: number): MetricsSample => ({
    id: 'c',
    timestamp: new Date(ms),
    cgroup: 'v1',
    cpuNs,
    memoryUsage: 0,
    pids: 1,
    blkRead: 0,
    blkWrite: 0,
  })

  it('is Δcpu / Δwall as % of one core', () => {
    expect(cpuPercent(sample(0, 0), sample(1000, 250_000_000))).toBeCloseTo(25)
    expect(cpuPercent(sample(0, 0), sample(500, 1_000_000_000))).toBeCloseTo(200) // two busy cores
  })

  it('is undefined without a previous sample, for no elapsed time, or a counter that went back', () => {
    expect(cpuPercent(undefined, sample(1, 1))).toBeUndefined()
    expect(cpuPercent(sample(5, 1), sample(5, 2))).toBeUndefined()
    expect(cpuPercent(sample(0, 500), sample(1000, 100))).toBeUndefined()
  })
})

describe('toStats', () => {
  const sample: MetricsSample = {id: 'c', timestamp: at, cgroup: 'v1', cpuNs: 10, memoryUsage: 256 * 1024 ** 2, pids: 3, blkRead: 1, blkWrite: 2}

  it('uses the host memory for % when unlimited, and null for the limit', () => {
    expect(toStats('c', 'running', sample, undefined, 1024 ** 3)).toMatchObject({
      memoryLimit: null,
      memoryPercent: 25,
      pids: 3,
      pidsLimit: null,
      cpuPercent: undefined,
    })
    expect(toStats('c', 'running', {...sample, memoryLimit: 512 * 1024 ** 2}, undefined, 1024 ** 3)).toMatchObject({
      memoryLimit: 512 * 1024 ** 2,
      memoryPercent: 50,
    })
  })

  it('shows a stopped task as stopped, without usage', () => {
    expect(toStats('c', 'stopped', sample, undefined)).toEqual({id: 'c', state: 'stopped', timestamp: at})
  })
})
