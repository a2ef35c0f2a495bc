import {totalmem} from 'node:os'

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {type CtrError, usageError} from '../../lib/containerd/errors'
import {positionalArgs} from '../../cli/positional-args'
import {durationFlag} from '../../cli/flag-types'
import {type ContainerStats, watchStats} from '../../lib/metrics/metrics'
import {formatBytes, formatPercent} from '../../cli/output/bytes'
import {exitOnOutputFailure} from '../../cli/output/streams'
import type {LiveColumn, Ux} from '../../cli/output/ux'
import {type OnNode, rowsOnNodes} from '../../cli/output/nodes'

const active = (s: ContainerStats) => s.memoryUsage !== undefined
/** Values only for live tasks; a stopped container shows its state in the CPU column and `--` elsewhere. */
const cell = (s: ContainerStats, text: () => string) => (active(s) ? text() : '--')

// Widths are the headers'; each round widens them to its cells (RowWriter.fit). A frozen task still reports
// metrics (CPU 0): `paused` says why, and its memory and the rest are still worth showing.
const columns: LiveColumn<ContainerStats>[] = [
  {header: 'ID', width: 0, shortest: 12, value: (s) => s.id},
  {header: 'CPU %', width: 0, value: (s) => (active(s) && s.state === 'running' ? formatPercent(s.cpuPercent) : s.state)},
  {
    header: 'MEM USAGE / LIMIT',
    width: 0,
    // Unlimited: the host's memory, as docker shows it.
    value: (s) => cell(s, () => `${formatBytes(s.memoryUsage!, 'binary')} / ${formatBytes(s.memoryLimit ?? totalmem(), 'binary')}`),
  },
  {header: 'MEM %', width: 0, value: (s) => cell(s, () => formatPercent(s.memoryPercent))},
  {
    header: 'NET I/O',
    width: 0,
    value: (s) => cell(s, () => (s.netRx === undefined ? '--' : `${formatBytes(s.netRx, 'decimal')} / ${formatBytes(s.netTx ?? 0, 'decimal')}`)),
  },
  {header: 'BLOCK I/O', width: 0, value: (s) => cell(s, () => `${formatBytes(s.blockRead!, 'decimal')} / ${formatBytes(s.blockWrite!, 'decimal')}`)},
  {header: 'PIDS', width: 0, value: (s) => cell(s, () => String(s.pids))},
]

const more = (hidden: number) => `… ${hidden} more (enlarge the window, or use --json)`

export default class ContainersStats extends BaseCommand<typeof ContainersStats> {
  static args = {
    id: Args.string({description: 'container ID (several may be given; none: every running container)', ignoreStdin: true}),
  }
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Live CPU, memory, block I/O and PIDs of containers

CPU % is the share of one core between two samples (4 busy cores = 400%); a paused container shows "paused" there. Memory excludes inactive page cache; with no limit it is shown against the host's memory. Columns are as wide as their longest cell so far (they widen, never narrow, while running), three spaces apart.

On a terminal the table refreshes in place, fitted to the window: long IDs are shortened (to no less than 12 characters, ending in …), lines are cut to its width, and the containers that do not fit in its height are counted on the last line. When piped nothing is shortened: rows are appended each interval (header once), or one JSON object per container and round with --json. A container that stops stays listed as stopped.`
  static examples = [
    '<%= config.bin %> containers stats redis',
    '<%= config.bin %> containers stats --no-stream',
    '<%= config.bin %> containers stats --interval 5s --json web worker',
  ]
  static flags = {
    interval: durationFlag({default: {ms: 1000, text: '1s'}, defaultHelp: async () => '1s', description: 'time between samples, e.g. 500ms, 2s'}),
    json: Flags.boolean({description: 'one JSON object per container and sample'}),
    'no-stream': Flags.boolean({description: 'print one sample and exit'}),
  }
  static strict = false
  static multiNode = true

  async run(): Promise<ContainerStats[]> {
    const {flags} = this
    const intervalMs = flags.interval.ms
    if (intervalMs < 100) throw usageError(`invalid --interval "${flags.interval.text}": must be at least 100ms`)
    const ids = [...new Set(positionalArgs(await this.parse(ContainersStats), " (see 'ctr containers stats --help')"))]
    exitOnOutputFailure()
    if (this.severalNodes) return this.onSeveralNodes(ids, intervalMs)
    const rows = this.ux.rows(columns)
    const block = flags['no-stream'] ? undefined : this.ux.liveBlock(more)
    let last: ContainerStats[] = []
    // Once running, a daemon restart is an outage to report and ride out, not the end (--no-stream: an error).
    const onOutage = flags['no-stream'] ? undefined : (error: CtrError | null) => reportOutage(this.ux, error)
    for await (const round of watchStats(this.client, {ids, intervalMs, signal: this.signal, onOutage})) {
      last = round
      if (flags.json) {
        for (const stats of round) this.ux.jsonLine(stats)
      } else {
        rows.fit(round)
        if (block) block.render(rows.lines(round, {maxWidth: block.width}))
        else if (round.length === 0) rows.header()
        else for (const stats of round) rows.row(stats)
      }
      if (flags['no-stream']) break
    }
    return last
  }

  /** One sample of each node's containers (--no-stream only), NODE first; `node` in JSON. */
  private async onSeveralNodes(ids: string[], intervalMs: number): Promise<ContainerStats[]> {
    if (!this.flags['no-stream']) throw usageError('several addresses: containers stats takes --no-stream (one sample of each node)')
    const answers = await this.forEachNode(async (client) => {
      for await (const round of watchStats(client, {ids, intervalMs, signal: this.signal})) return round
      return []
    })
    const rows = rowsOnNodes(answers)
    if (this.flags.json) for (const stats of rows) this.ux.jsonLine(stats)
    else {
      const writer = this.ux.rows<OnNode<ContainerStats>>([{header: 'NODE', width: 0, value: (s) => s.node}, ...columns])
      writer.fit(rows)
      if (rows.length === 0) writer.header()
      for (const stats of rows) writer.row(stats)
    }
    return rows
  }
}

function reportOutage(ux: Ux, error: CtrError | null): void {
  ux.warn(error ? `${error.message}; retrying every interval…` : 'containerd answers again')
}
