#!/usr/bin/env node
// Runs several commands in interleaved rounds (A B C A B C ...) so drift in machine load hits them all
// alike, then prints each one's median wall time and peak RSS and its ratio to the first (the baseline).
//
//   node bench/interleave.mjs [--runs N] [--warmup N] [--json] -- 'node -e 0' 'node bin/run.js version' ...
//
// Commands are split on spaces (no shell); each must exit 0.
import {spawnSync} from 'node:child_process'

const argv = process.argv.slice(2)
let runs = 30
let warmup = 3
let json = false
while (argv.length && argv[0] !== '--') {
  const flag = argv.shift()
  if (flag === '--runs') runs = Number(argv.shift())
  else if (flag === '--warmup') warmup = Number(argv.shift())
  else if (flag === '--json') json = true
  else throw new Error(`interleave: unknown flag ${flag}`)
}
argv.shift()
const commands = argv
if (commands.length < 2) throw new Error('interleave: give a baseline and at least one command after --')

const wall = commands.map(() => [])
const rss = commands.map(() => [])
for (let round = 0; round < warmup + runs; round++) {
  commands.forEach((command, i) => {
    const [file, ...args] = command.split(' ').filter(Boolean)
    // /usr/bin/time reports the child's peak RSS; its own start-up is the same for every command.
    const start = process.hrtime.bigint()
    const result = spawnSync('/usr/bin/time', ['-f', '%M', file, ...args], {encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (result.status !== 0) {
      process.stderr.write(`interleave: ${command} exited ${result.status}\n${result.stderr}`)
      process.exit(1)
    }
    if (round < warmup) return
    wall[i].push(ms)
    rss[i].push(Number(result.stderr.trim().split('\n').pop()) / 1024)
  })
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const rows = commands.map((command, i) => ({
  command,
  medianMs: +median(wall[i]).toFixed(1),
  minMs: +Math.min(...wall[i]).toFixed(1),
  peakRssMiB: +Math.max(...rss[i]).toFixed(1),
  ratio: +(median(wall[i]) / median(wall[0])).toFixed(2),
}))
if (json) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
} else {
  const width = Math.max(...commands.map((c) => c.length))
  process.stdout.write(`${'command'.padEnd(width)}  median ms  min ms  peak RSS MiB  ratio to first\n`)
  for (const row of rows) {
    process.stdout.write(
      `${row.command.padEnd(width)}  ${String(row.medianMs).padStart(9)}  ${String(row.minMs).padStart(6)}  ${String(row.peakRssMiB).padStart(12)}  ${row.ratio.toFixed(2).padStart(14)}\n`,
    )
  }
}
