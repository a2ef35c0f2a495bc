import {Args, Flags} from '@oclif/core'

import {BaseCommand, exitCodeFor} from '../cli/base-command'
import type {CompletionHints} from '../cli/completion'
import {type BenchResult, runBench} from '../lib/bench/bench'
import {EXIT} from '../lib/containerd/errors'
import {formatSummary} from '../cli/output/stats-summary'

export default class Bench extends BaseCommand<typeof Bench> {
  static args = {
    bundle: Args.string({description: 'OCI bundle directory every container starts from', required: true}),
  }
  static completion: CompletionHints = {dirs: ['bundle']}
  static description = `Measure how fast containerd starts containers from a bundle

Starts --count containers (IDs <prefix>-1, <prefix>-2, ...), --concurrency at a time over one connection,
timing each start from Containers.Create until Tasks.Start answers (the process runs). Prints the seed's
statistics (count, min, max, mean, stddev, median, 75%, 95%, 99%, 99.9% in ms) and the rate in containers
per second, then removes every container it made (kill, delete task, delete container), also after a
failure or Ctrl-C (exit 130 then; a second Ctrl-C abandons the clean-up). The containers run detached with
no stdio, and carry the label ctr.bench=<prefix>.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> bench --count 100 --concurrency 8 /containers/busybox',
    '<%= config.bin %> bench -c 1000 -C 10 --prefix load ./bundle',
    '<%= config.bin %> bench --count 50 --json ./bundle',
  ]
  static flags = {
    concurrency: Flags.integer({char: 'C', default: 1, description: 'how many starts are under way at a time', min: 1}),
    count: Flags.integer({char: 'c', default: 10, description: 'how many containers to start', min: 1}),
    prefix: Flags.string({description: 'container ID prefix [default: bench-<random>]'}),
  }

  /** Ctrl-C stops launching; the run then waits for the starts under way and cleans up. */
  private readonly stopLaunching = new AbortController()

  async run(): Promise<BenchResult> {
    const {args, flags} = this
    const progress = this.ux.progress('starting')
    let result: BenchResult
    try {
      result = await runBench(this.client, {
        bundle: args.bundle,
        concurrency: flags.concurrency,
        count: flags.count,
        prefix: flags.prefix,
        stop: this.stopLaunching.signal,
        onProgress: (done, total) => progress.update(done, total),
      })
    } finally {
      progress.stop()
    }
    this.ux.object(() => formatSummary(result.startMs))
    if (result.interrupted) process.exitCode = this.interruptedBy ? exitCodeFor(this.interruptedBy) : EXIT.interrupted
    return result
  }

  protected interrupt(signal: NodeJS.Signals): void {
    // A second signal: give up the clean-up and exit at once (BaseCommand's behaviour).
    if (this.interruptedBy) return super.interrupt(signal)
    this.interruptedBy = signal
    this.stopLaunching.abort()
  }
}
