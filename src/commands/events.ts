import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command'
import type {CompletionHints} from '../cli/completion'
import {durationFlag} from '../cli/flag-types'
import {positionalArgs} from '../cli/positional-args'
import {requireContainer} from '../lib/containers/containers'
import type {CtrEvent} from '../lib/events/decode'
import {streamEvents, type StreamEventsResult} from '../lib/events/exit-wait'
import type {WatchStatus} from '../lib/events/watch'
import {exitOnOutputFailure} from '../cli/output/streams'
import type {LiveColumn, Ux} from '../cli/output/ux'
import {watchStdoutReader} from '../cli/output/reader-watch'
import type {OnNode} from '../cli/output/nodes'
import {usageError} from '../lib/containerd/errors'
import {nodeName} from '../lib/ssh/address'

/** The seed's columns (`exit redis 24761 0`); an exec's events name it as <container>/<exec>. */
const columns: LiveColumn<CtrEvent>[] = [
  {header: 'TYPE', width: 16, value: (e) => e.type},
  // 64-hex Kubernetes IDs fit; shorter ones leave the rest of the column blank.
  {header: 'ID', width: 64, value: (e) => (e.id ? (e.execId ? `${e.id}/${e.execId}` : e.id) : '')},
  {header: 'PID', width: 7, value: (e) => (e.pid === undefined ? '' : String(e.pid))},
  {header: 'STATUS', width: 0, value: (e) => (e.status === undefined ? '' : String(e.status))},
]
const namespaceColumn: LiveColumn<CtrEvent> = {header: 'NAMESPACE', width: 12, value: (e) => e.namespace}
const timeColumn: LiveColumn<CtrEvent> = {header: 'TIME', width: 24, value: (e) => e.timestamp.toISOString()}

export default class Events extends BaseCommand<typeof Events> {
  static args = {
    // ignoreStdin: oclif would otherwise read a missing optional arg from piped stdin (and wait for its EOF).
    filter: Args.string({description: "containerd filters, as Go's ctr events takes them (same as --filter)", ignoreStdin: true}),
  }
  static completion: CompletionHints = {containerIds: ['id', 'exit-on']}
  static description = `Print containerd's events as they happen, one row each (also when piped)

Rows are TYPE ID PID STATUS: TYPE is the short kind (create, start, exit, delete, exec-added, exec-started, oom, paused, resumed, checkpointed, container-create, image-delete, ...; unknown topics as they are). If the stream breaks (containerd restarted), ctr says so on stderr, re-subscribes with back-off and says which span of events may have been missed. Events are never replayed.

Piped, the first line is the first event (no header, as Go ctr prints none); --header asks for it anyway. By default only the current namespace is shown; --all-namespaces (-A) shows every one, as Go ctr does.

Filters (--filter, or as arguments as Go ctr takes them) use containerd's syntax: field==value, field!=value, field~=regex; a comma means AND, several --filter mean OR. Fields: topic, namespace, event.<field> (string fields only, e.g. event.container_id, event.id; numbers such as event.exit_status never match).`
  static examples = [
    '<%= config.bin %> events',
    '<%= config.bin %> events --filter \'topic=="/tasks/exit"\'',
    '<%= config.bin %> events -A --timestamps \'topic~="/tasks/"\'',
    '<%= config.bin %> events --id redis --json',
    "<%= config.bin %> events --exit-on redis  # exits with redis's exit status",
    '<%= config.bin %> events | grep --line-buffered exit',
  ]
  static flags = {
    'all-namespaces': Flags.boolean({char: 'A', description: 'events of every namespace (adds a NAMESPACE column)'}),
    'exit-on': Flags.string({description: "exit when this container's init process exits, with its exit status", helpValue: 'ID'}),
    filter: Flags.string({char: 'f', description: 'containerd filter; repeat for OR', multiple: true}),
    header: Flags.boolean({allowNo: true, description: 'print the column header [default: when stdout is a terminal]'}),
    heartbeat: durationFlag({
      default: {ms: 15_000, text: '15s'},
      defaultHelp: async () => '15s',
      description: 'how often a quiet stream checks that containerd still answers (0: never)',
    }),
    id: Flags.string({description: 'only events about this container'}),
    json: Flags.boolean({description: 'one JSON object per line'}),
    'no-reconnect': Flags.boolean({description: 'exit non-zero when the stream breaks instead of re-subscribing'}),
    timestamps: Flags.boolean({char: 'T', description: "add a TIME column (the event's timestamp, UTC)"}),
  }
  static strict = false

  async run(): Promise<StreamEventsResult> {
    const {flags} = this
    exitOnOutputFailure()
    watchStdoutReader() // `ctr events | head -1` ends when head does, even if no event comes
    const filters = [...(flags.filter ?? []), ...positionalArgs(await this.parse(Events), " (see 'ctr events --help')")]
    // An ID that names no container would wait for ever.
    if (flags['exit-on']) await requireContainer(this.client, flags['exit-on'])
    const shown = [...(flags.timestamps ? [timeColumn] : []), ...(flags['all-namespaces'] ? [namespaceColumn] : []), ...columns]
    if (this.severalNodes) return this.onSeveralNodes(shown, filters)
    const rows = this.ux.rows(shown, {header: flags.header ?? this.ux.isTerminal('stdout')})
    const result = await streamEvents(
      this.client,
      {
        namespace: this.client.namespace,
        allNamespaces: flags['all-namespaces'],
        filters: filters.length > 0 ? filters : undefined,
        id: flags.id,
        exitOn: flags['exit-on'],
        heartbeatMs: flags.heartbeat.ms,
        reconnect: !flags['no-reconnect'],
        signal: this.signal,
        onStatus: (status) => reportStatus(this.ux, status, flags.debug),
        // The header appears once the daemon has answered and the subscription is sent: a sign it is live.
        onSubscribed: () => (flags.json ? undefined : rows.header()),
      },
      (event) => (flags.json ? this.ux.jsonLine(toJsonEvent(event)) : rows.row(event)),
    )
    if (result.exit) process.exitCode = result.exit.status
    return result
  }

  static multiNode = true

  /** One stream per node, each reconnecting on its own; rows get the node first. --exit-on is for one node. */
  private async onSeveralNodes(shown: LiveColumn<CtrEvent>[], filters: string[]): Promise<StreamEventsResult> {
    const {flags} = this
    if (flags['exit-on']) throw usageError('--exit-on watches one container: give one address')
    const nodeColumn: LiveColumn<OnNode<CtrEvent>> = {header: 'NODE', width: Math.max(...this.addresses.map((a) => nodeName(a).length)), value: (e) => e.node}
    const rows = this.ux.rows([nodeColumn, ...(shown as LiveColumn<OnNode<CtrEvent>>[])], {header: flags.header ?? this.ux.isTerminal('stdout')})
    let headed = false
    const results = await this.forEachNode((client) => {
      const node = nodeName(client.address)
      return streamEvents(
        client,
        {
          namespace: client.namespace,
          allNamespaces: flags['all-namespaces'],
          filters: filters.length > 0 ? filters : undefined,
          id: flags.id,
          heartbeatMs: flags.heartbeat.ms,
          reconnect: !flags['no-reconnect'],
          signal: this.signal,
          onStatus: (status) => reportStatus(this.ux, status, flags.debug, `${node}: `),
          onSubscribed: () => {
            if (!flags.json && !headed) rows.header()
            headed = true
          },
        },
        (event) => (flags.json ? this.ux.jsonLine({node, ...toJsonEvent(event)}) : rows.row({node, ...event})),
      )
    })
    return {count: results.reduce((sum, {result}) => sum + result.count, 0)}
  }
}

function toJsonEvent(e: CtrEvent) {
  return {
    timestamp: e.timestamp,
    namespace: e.namespace,
    topic: e.topic,
    type: e.type,
    id: e.id,
    execId: e.execId,
    pid: e.pid,
    status: e.status,
    typeUrl: e.typeUrl,
    event: e.payload,
  }
}

function reportStatus(ux: Ux, status: WatchStatus, debug: boolean, node = ''): void {
  if (status.kind === 'lost') ux.warn(`${node}event stream lost (${status.reason}); reconnecting…`)
  else if (status.kind === 'reconnected')
    ux.warn(`${node}reconnected; events between ${status.lostAt.toISOString()} and ${status.at.toISOString()} may have been missed`)
  else if (debug) ux.warn(`${node}still unreachable (${status.reason}); retry ${status.attempt} in ${status.delayMs} ms`)
}
