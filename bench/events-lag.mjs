#!/usr/bin/env node
// Lag from a task's exit to its row on `ctr events --json` stdout, and on Go `ctr events` stdout watching the
// same exits in the same run, over N exits (default 1000):
//   node bench/events-lag.mjs BUNDLE [N] [CONCURRENCY]      (CONTAINERD_ADDRESS / CONTAINERD_NAMESPACE set)
// Runs `ctr events --json` and Go `ctr events` as children, then starts N short-lived containers (BUNDLE runs `true`) with the
// library (dist/index.js) in a worker thread, C at a time over one connection. Each container's exit time is the exitedAt
// that Tasks.Wait returns (the daemon's clock: the moment the shim saw the process exit); a row's time is
// when this script read it from the child's stdout (the same machine's clock). Prints p50/p99/max of the
// lag and how many exits never showed up (lost), for each, and ctr's ratios to Go's. Events are best effort in containerd: none lost is the goal.
import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const [bundle, countText = '1000', concurrencyText = '8'] = process.argv.slice(2)
if (!bundle) throw new Error('usage: events-lag.mjs BUNDLE [N] [CONCURRENCY]')
const count = Number(countText)
const concurrency = Number(concurrencyText)
const prefix = `lag-${process.pid}`
const now = () => performance.timeOrigin + performance.now()

// The streams first: ctr's and Go ctr's, each its rows by container ID with the time each was read.
const goCtr = process.env.GO_CTR || '/usr/bin/ctr'
const subscribers = {
  ctr: spawn(process.execPath, [join(root, 'bin', 'run.js'), 'events', '--json', '--filter', 'topic=="/tasks/exit"'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
  go: spawn(goCtr, ['-a', process.env.CONTAINERD_ADDRESS, '-n', process.env.CONTAINERD_NAMESPACE, 'events', 'topic=="/tasks/exit"'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
}
// ctr: one JSON object a line. Go: `DATE TIME +0000 UTC NAMESPACE TOPIC {json}`; an init's exit has id = container_id.
const parsers = {
  ctr: (line) => {
    const row = JSON.parse(line)
    return row.type === 'exit' ? row.id : undefined
  },
  go: (line) => {
    const event = JSON.parse(line.slice(line.indexOf('{')))
    return event.id === event.container_id ? event.container_id : undefined
  },
}
const rowsOf = {ctr: new Map(), go: new Map()}
const live = {}
for (const [tool, child] of Object.entries(subscribers)) {
  let ready
  live[tool] = new Promise((resolve) => (ready = resolve))
  createInterface({input: child.stdout}).on('line', (line) => {
    const at = now()
    const id = parsers[tool](line)
    if (id !== undefined && !rowsOf[tool].has(id)) rowsOf[tool].set(id, at)
    if (id === `${prefix}-probe`) ready()
  })
}
const events = {kill: (signal) => Object.values(subscribers).forEach((child) => child.kill(signal))}

// The containers are started and waited for in a worker thread: this thread only reads the two streams, so
// the time a row is read is not held up by the work that makes the exits (it was, by up to tens of ms).
const worker = new Worker(
  `const {parentPort, workerData} = require('node:worker_threads')
  const {ContainerdClient, startContainer, waitTask, deleteContainer} = require(workerData.index)
  const client = new ContainerdClient({address: workerData.address, namespace: workerData.namespace})
  parentPort.on('message', async ({id}) => {
    if (id === undefined) return client.close()
    try {
      await startContainer(client, {id, bundle: workerData.bundle})
      const exit = await waitTask(client, id)
      await deleteContainer(client, id, {force: true})
      parentPort.postMessage({id, exitedAt: exit.exitedAt.getTime()})
    } catch (error) {
      parentPort.postMessage({id, error: String(error && error.message)})
    }
  })`,
  {
    eval: true,
    workerData: {index: join(root, 'dist', 'index.js'), address: process.env.CONTAINERD_ADDRESS, namespace: process.env.CONTAINERD_NAMESPACE, bundle},
  },
)
const pending = new Map()
worker.on('message', ({id, exitedAt, error}) => {
  const {resolve, reject} = pending.get(id)
  pending.delete(id)
  if (error) reject(new Error(`${id}: ${error}`))
  else resolve(exitedAt)
})
// Whatever happens, the events children must not outlive this script.
process.on('exit', () => events.kill('SIGKILL'))
function cycle(id) {
  return new Promise((resolve, reject) => {
    pending.set(id, {resolve, reject})
    worker.postMessage({id})
  })
}

// The subscription gives no sign of life until an event arrives: run probe containers until one is seen.
for (let i = 0; ; i++) {
  await cycle(`${prefix}-probe`)
  const seen = await Promise.race([Promise.all(Object.values(live)).then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 1000))])
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
while ([...exits.keys()].some((id) => !rowsOf.ctr.has(id) || !rowsOf.go.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
events.kill('SIGINT')
worker.postMessage({})
await worker.terminate()

function summary(rows) {
  const lags = []
  let lost = 0
  for (const [id, exitedAt] of exits) {
    if (rows.has(id)) lags.push(rows.get(id) - exitedAt)
    else lost++
  }
  lags.sort((a, b) => a - b)
  const pick = (p) => lags[Math.min(lags.length - 1, Math.max(0, Math.ceil(p * lags.length) - 1))]
  return {rows: lags.length, lost, p50Ms: +pick(0.5).toFixed(2), p99Ms: +pick(0.99).toFixed(2), maxMs: +lags.at(-1).toFixed(2)}
}
const ctr = summary(rowsOf.ctr)
const go = summary(rowsOf.go)
const result = {
  exits: count,
  ...ctr,
  go,
  p50Ratio: +(ctr.p50Ms / go.p50Ms).toFixed(2),
  p99Ratio: +(ctr.p99Ms / go.p99Ms).toFixed(2),
  exitsPerSecond: +(count / (elapsed / 1000)).toFixed(1),
}
console.log(JSON.stringify(result))
