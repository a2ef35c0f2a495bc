#!/usr/bin/env node
// Lag from a task's exit to its row on `ctr events --json` stdout, over N exits (default 1000):
//   node bench/events-lag.mjs BUNDLE [N] [CONCURRENCY]      (CONTAINERD_ADDRESS / CONTAINERD_NAMESPACE set)
// Runs `ctr events --json` as a child, then starts N short-lived containers (BUNDLE runs `true`) with the
// library (dist/index.js), C at a time over one connection. Each container's exit time is the exitedAt
// that Tasks.Wait returns (the daemon's clock: the moment the shim saw the process exit); a row's time is
// when this script read it from the child's stdout (the same machine's clock). Prints p50/p99/max of the
// lag and how many exits never showed up (lost). Events are best effort in containerd: none lost is the goal.
import {spawn} from 'node:child_process'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const {ContainerdClient, startContainer, waitTask, deleteContainer} = require(join(root, 'dist', 'index.js'))

const [bundle, countText = '1000', concurrencyText = '8'] = process.argv.slice(2)
if (!bundle) throw new Error('usage: events-lag.mjs BUNDLE [N] [CONCURRENCY]')
const count = Number(countText)
const concurrency = Number(concurrencyText)
const prefix = `lag-${process.pid}`
const now = () => performance.timeOrigin + performance.now()

// The stream first: rows by container ID, with the time each was read.
const events = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'events', '--json', '--filter', 'topic=="/tasks/exit"'], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
const rows = new Map()
const lines = createInterface({input: events.stdout})
let ready
const live = new Promise((resolve) => (ready = resolve))
lines.on('line', (line) => {
  const at = now()
  const row = JSON.parse(line)
  if (row.type === 'exit' && !rows.has(row.id)) rows.set(row.id, at)
  if (row.id === `${prefix}-probe`) ready()
})

const client = new ContainerdClient({address: process.env.CONTAINERD_ADDRESS, namespace: process.env.CONTAINERD_NAMESPACE})
// Whatever happens, the events child must not outlive this script.
process.on('exit', () => events.kill('SIGKILL'))
async function cycle(id) {
  await startContainer(client, {id, bundle})
  const exit = await waitTask(client, id)
  await deleteContainer(client, id, {force: true})
  return exit.exitedAt.getTime()
}

// The subscription gives no sign of life until an event arrives: run probe containers until one is seen.
for (let i = 0; ; i++) {
  await cycle(`${prefix}-probe`)
  const seen = await Promise.race([live.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 1000))])
  if (seen) break
  if (i === 10) throw new Error('ctr events shows no exit rows')
}

const exits = new Map()
let next = 0
const started = now()
await Promise.all(
  Array.from({length: concurrency}, async () => {
    while (next < count) {
      const id = `${prefix}-${++next}`
      exits.set(id, await cycle(id))
    }
  }),
)
const elapsed = now() - started
// Rows may trail the last Wait by a little: give them up to 2 s.
const deadline = Date.now() + 2000
while ([...exits.keys()].some((id) => !rows.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
events.kill('SIGINT')
client.close()

const lags = []
let lost = 0
for (const [id, exitedAt] of exits) {
  if (rows.has(id)) lags.push(rows.get(id) - exitedAt)
  else lost++
}
lags.sort((a, b) => a - b)
const pick = (p) => lags[Math.min(lags.length - 1, Math.max(0, Math.ceil(p * lags.length) - 1))]
const result = {
  exits: count,
  rows: lags.length,
  lost,
  p50Ms: +pick(0.5).toFixed(2),
  p99Ms: +pick(0.99).toFixed(2),
  maxMs: +lags.at(-1).toFixed(2),
  exitsPerSecond: +(count / (elapsed / 1000)).toFixed(1),
}
console.log(JSON.stringify(result))
