import {Writable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {toJson} from '../../../src/cli/output/streams'
import {colorLevel, isInteractive, type OutputEnv, Ux} from '../../../src/cli/output/ux'

/** A stream recording each write, a terminal of 80x24 or not. */
function stream(isTTY: boolean) {
  const writes: string[] = []
  const s = new Writable({
    write(chunk, _enc, done) {
      writes.push(String(chunk))
      done()
    },
  })
  return {stream: Object.assign(s, {isTTY, columns: 80, rows: 24}), writes}
}

function ux(options: {tty?: boolean; json?: boolean; env?: OutputEnv} = {}) {
  const out = stream(Boolean(options.tty))
  const err = stream(Boolean(options.tty))
  return {ux: new Ux({stdout: out.stream, stderr: err.stream}, {json: options.json, env: options.env ?? {}}), out: out.writes, err: err.writes}
}

describe('isInteractive (the one terminal decision)', () => {
  it('is a TTY, not CI, not TERM=dumb, not --json', () => {
    expect(isInteractive({isTTY: true}, {})).toBe(true)
    expect(isInteractive({isTTY: false}, {})).toBe(false)
    expect(isInteractive({}, {})).toBe(false)
    expect(isInteractive({isTTY: true}, {CI: 'true'})).toBe(false)
    expect(isInteractive({isTTY: true}, {TERM: 'dumb'})).toBe(false)
    expect(isInteractive({isTTY: true}, {TERM: 'xterm-256color'})).toBe(true)
    expect(isInteractive({isTTY: true}, {}, true)).toBe(false)
  })
})

describe('colorLevel', () => {
  it('colours an interactive stream only', () => {
    expect(colorLevel({isTTY: true}, {})).toBe(1)
    expect(colorLevel({isTTY: false}, {})).toBe(0)
    expect(colorLevel({isTTY: true}, {TERM: 'dumb'})).toBe(0)
    expect(colorLevel({isTTY: true}, {CI: '1'})).toBe(0)
  })
  it('honours NO_COLOR over everything and FORCE_COLOR off a TTY', () => {
    expect(colorLevel({isTTY: true}, {NO_COLOR: '1'})).toBe(0)
    expect(colorLevel({isTTY: true}, {NO_COLOR: '1', FORCE_COLOR: '1'})).toBe(0)
    expect(colorLevel({isTTY: false}, {FORCE_COLOR: '1'})).toBe(1)
    expect(colorLevel({isTTY: false}, {FORCE_COLOR: '3'})).toBe(3)
    expect(colorLevel({isTTY: true}, {FORCE_COLOR: '0'})).toBe(0)
  })
})

describe('Ux', () => {
  const spec = {columns: [{header: 'ID', value: (r: {id: string}) => r.id}], id: (r: {id: string}) => r.id}

  it('prints a table, or IDs with quiet (escaped), or nothing under --json', () => {
    const plain = ux()
    plain.ux.list([{id: 'a'}, {id: 'b\nc'}], spec)
    plain.ux.list([{id: 'a'}, {id: 'b\nc'}], spec, {quiet: true})
    plain.ux.list([], spec, {quiet: true})
    expect(plain.out).toEqual(['ID\na\nb\\nc\n', 'a\nb\\nc\n'])
    const json = ux({json: true, tty: true})
    json.ux.list([{id: 'a'}], spec)
    json.ux.log('x')
    json.ux.object(() => ['k: v'])
    expect(json.out).toEqual([])
  })

  it('colours tables on a terminal only', () => {
    const columns = [{header: 'ID', value: (r: {id: string}) => r.id, color: (t: string, _r: unknown, chalk: {green(t: string): string}) => chalk.green(t)}]
    const tty = ux({tty: true})
    tty.ux.list([{id: 'a'}], {columns, id: (r) => r.id})
    expect(tty.out).toEqual(['\x1b[1mID\x1b[22m\n\x1b[32ma\x1b[39m\n'])
    const piped = ux({env: {FORCE_COLOR: '0'}, tty: true})
    piped.ux.list([{id: 'a'}], {columns, id: (r) => r.id})
    expect(piped.out).toEqual(['ID\na\n'])
  })

  it('writes JSON lines compactly, bigint as number, dates as ISO', () => {
    const {ux: u, out} = ux()
    u.jsonLine({pid: 5n, at: new Date('2026-01-02T03:04:05.000Z'), nested: {a: [1]}})
    expect(out).toEqual(['{"pid":5,"at":"2026-01-02T03:04:05.000Z","nested":{"a":[1]}}\n'])
  })

  it('warns on stderr in one escaped line', () => {
    const {ux: u, err} = ux()
    u.warn('lost (\x1b[2J); retrying')
    expect(err).toEqual(['ctr: lost (\\x1b[2J); retrying\n'])
  })

  it('draws nothing on stderr off a terminal, in CI, on a dumb terminal or under --json', () => {
    for (const options of [{}, {tty: true, env: {CI: 'true'}}, {tty: true, env: {TERM: 'dumb'}}, {tty: true, json: true}]) {
      const {ux: u, err, out} = ux(options)
      const spinner = u.spinner('working')
      spinner.text = 'still working'
      spinner.stop()
      const bar = u.progress('starting')
      bar.update(1, 2)
      bar.update(2, 2)
      bar.stop()
      expect(u.liveBlock()).toBeUndefined()
      expect([...err, ...out]).toEqual([])
    }
  })

  it('gives pull and push the summary alone off a terminal, nothing under --json, live lines on one', async () => {
    const blob = {digest: 'sha256:0123456789abcdef', kind: 'layer', size: 2048, bytes: 1024, state: 'downloading'}
    const piped = ux()
    const display = piped.ux.transfer()
    display.blob(blob)
    display.stop('pulled')
    expect(piped.err).toEqual(['pulled\n'])
    const json = ux({json: true, tty: true})
    json.ux.transfer().stop('pulled')
    expect(json.err).toEqual([])
    const tty = ux({tty: true})
    const live = tty.ux.transfer()
    live.blob(blob)
    live.note('unpacking')
    await new Promise((resolve) => setTimeout(resolve, 150))
    live.blob({...blob, bytes: 2048, state: 'done'})
    live.stop('pulled')
    expect(tty.err).toEqual([
      'layer    0123456789ab  downloading 1.0 KiB / 2.0 KiB\nunpacking\n',
      '\x1b[2A\r\x1b[Jlayer    0123456789ab  done        2.0 KiB / 2.0 KiB\nunpacking\n',
      'pulled\n',
    ])
  })
})

describe('toJson', () => {
  it('writes safe bigints as numbers and huge ones as strings', () => {
    expect(JSON.parse(toJson({a: 5n, b: 2n ** 63n}))).toEqual({a: 5, b: '9223372036854775808'})
  })
})
