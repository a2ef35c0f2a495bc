import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {attachStdio} from '../../lib/tasks/attach'
import {restoreFrom} from '../../lib/checkpoints/restore'
import {usageError} from '../../lib/containerd/errors'
import {positionalArgs} from '../../cli/positional-args'
import {publishFlag} from '../../cli/flag-types'
import {resolveSource} from '../../lib/containers/image-source'
import {parseLogOptions} from '../../lib/logs/log-options'
import {parseLabels, parseRunSettings, readEnvFile} from '../../lib/containers/run-options'
import {parseRestartPolicy, restartLabels} from '../../lib/containers/restart-policy'
import {runContainer, type RunResult, startContainer, type StartedContainer} from '../../lib/tasks/start'
import {startExisting, type StartedAgain} from '../../lib/tasks/stop'

export default class ContainersStart extends BaseCommand<typeof ContainersStart> {
  static args = {
    id: Args.string({description: 'container ID', required: true}),
    bundle: Args.string({
      description: 'SOURCE: an OCI bundle directory (config.json and its rootfs) or an image in the namespace; none: start the existing container ID',
      ignoreStdin: true,
    }),
    // The optional CMD... is not an oclif arg: oclif reads a missing optional arg from piped stdin (the
    // container's input). It is in the usage and the description; positionalArgs reads it.
  }
  /** Not the ID: that names a container to create. */
  static completion: CompletionHints = {dirs: ['bundle'], files: ['log-path']}
  static description = `Start a container from an OCI bundle or an image

SOURCE is a bundle when it looks like a path (/x, ./x, ../x) or names an existing directory; otherwise it is an image in the namespace (ctr images import), started as Go ctr's 'run IMAGE ID' does: a writable overlayfs snapshot named ID on the image's layers, the default runtime spec with the image's Entrypoint+Cmd, Env, WorkingDir and User. A bare name that is both a directory and an image is refused: write ./NAME for the directory. 'containers delete' removes the snapshot with the container.

Detached (the default), ctr returns once the container runs and prints nothing. The container's stdout and stderr go to a log file ('ctr containers logs ID' prints it; 'containers delete' removes it): --log-path FILE, else $CTR_LOG_DIR/<namespace>/<id>.log, where CTR_LOG_DIR defaults to /var/lib/ctr/logs for root and to $XDG_STATE_HOME/ctr/logs (~/.local/state/ctr/logs) for others. ctr's log writer, which containerd's shim starts and owns, appends both streams as written; a file ctr created rotates with --log-opt max-size=SIZE (and max-file=N, as docker); output it cannot write (a full disk) is dropped, never blocking the container, and 'logs' reports the gap. The log's directory must be writable by no other user, and ctr never follows a symlink to the file. With --no-log the output is discarded. A detached container has no stdin and no terminal, even if config.json asks for one (--tty needs --attach: containerd's shim cannot write a terminal to a file).

With --attach, ctr wires its stdin, stdout and stderr to the container, forwards the signals it receives (unless --tty or --no-sig-proxy; then an interrupt detaches ctr and the container keeps running), and exits with the container's exit code (128+N if killed by signal N). With --tty, or when config.json asks for a terminal, the container gets one and ctr's terminal is in raw mode while attached.

A command after SOURCE replaces config.json's process.args (or the image's Entrypoint and Cmd); from it on, every word is the command's (-c, -a included), and -- before it works too.

Networking: --net host shares the host's network namespace (and its /etc/hosts and /etc/resolv.conf, read-only; Go ctr's --net-host does the same), --net none gives the container its own namespace with loopback only, --net bridge attaches it to ctr's default bridge network (ctr-bridge, written to the CNI configuration directory on first use), and any other name to that CNI network (ctr networks lists them; --net is repeatable: eth0, eth1 ...). Without --net a bundle keeps what its config.json says and an image gets none, as Go ctr; -p implies --net bridge. -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] publishes a port (IP defaults to every host address); a host port already taken is refused. Containers from an image get /etc/hosts (with their hostname, the container ID), /etc/hostname and /etc/resolv.conf (the host's, without loopback name servers) as read-only files ctr writes. 'containers delete' (and --rm, prune) releases the container's addresses and ports; a container that exited by itself keeps them until it is deleted.

With no SOURCE, ctr starts the existing container ID, detached, as docker start does: one that is created (Go ctr's 'containers create') or stopped gets a new process from its record (its spec, snapshot and log file, which gets a line saying so); one that runs is left alone.

A failed start leaves nothing behind. Exit codes: 125 for ctr's own failures (bad bundle, bad ID, duplicate ID), 126 when the command is not executable, 127 when it is not found.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers start redis /containers/redis',
    '<%= config.bin %> containers start --attach job ./bundle',
    '<%= config.bin %> containers start -a -t --rm shell ./bundle',
    "<%= config.bin %> containers start -a --rm once ./bundle sh -c 'echo hello'",
    '<%= config.bin %> containers start -a --rm hello docker.io/library/busybox:latest echo hello',
    '<%= config.bin %> containers start --checkpoint test redis /containers/redis',
    '<%= config.bin %> containers start --log-path /var/log/redis.log redis /containers/redis',
    '<%= config.bin %> containers start -p 127.0.0.1:8080:80 web docker.io/library/busybox:latest httpd -f -p 80 -h /',
    '<%= config.bin %> containers start --net host tool docker.io/library/busybox:latest ip link',
  ]
  /** After ID and BUNDLE, every word is the command's (`start x ./b sh -c 'echo hi'`). */
  static programAfter = 2
  static strict = false
  static usage: string | string[] = [
    'containers start [-a] [-t] [--rm] [--checkpoint NAME] [--net NAME] [-p [IP:]HOSTPORT:PORT] [--no-sig-proxy] [--log-path FILE] [--log-opt KEY=VALUE] [--no-log] ID SOURCE [[--] CMD [ARG...]]',
    'containers start ID',
  ]
  static flags = {
    attach: Flags.boolean({char: 'a', description: 'connect to the stdio of the container and exit with its exit code'}),
    'cap-add': Flags.string({
      description: 'add a Linux capability (NET_ADMIN, CAP_SYS_TIME, ALL; repeatable)',
      helpValue: 'CAP',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'cap-drop': Flags.string({
      description: 'drop a Linux capability (repeatable; ALL drops every one)',
      helpValue: 'CAP',
      multiple: true,
      multipleNonGreedy: true,
    }),
    checkpoint: Flags.string({char: 'c', description: 'checkpoint to start the container from (ctr checkpoints ID lists them)'}),
    'cpu-shares': Flags.string({description: 'relative CPU weight (cgroup cpu.shares)', helpValue: 'N'}),
    cpus: Flags.string({description: 'CPUs the container may use, as a CFS quota (0.5, 2)', helpValue: 'N.N'}),
    cwd: Flags.string({aliases: ['workdir'], char: 'w', description: "the process's working directory (docker's --workdir)", helpValue: 'DIR'}),
    env: Flags.string({
      char: 'e',
      description: "environment variable KEY=VALUE for the process, beside the bundle's or image's (repeatable)",
      multiple: true,
      multipleNonGreedy: true,
    }),
    'env-file': Flags.string({
      description: 'read environment variables from a file, as docker (KEY=VALUE a line, # comments; repeatable)',
      helpValue: 'FILE',
      multiple: true,
      multipleNonGreedy: true,
    }),
    hostname: Flags.string({description: "the container's hostname", helpValue: 'NAME'}),
    label: Flags.string({description: 'container label KEY=VALUE (repeatable)', helpValue: 'KEY=VALUE', multiple: true, multipleNonGreedy: true}),
    'log-opt': Flags.string({
      description: 'log rotation, as docker: max-size=SIZE (e.g. 10m) rotates a log ctr created, max-file=N keeps N files (repeatable)',
      exclusive: ['no-log'],
      helpValue: 'KEY=VALUE',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'log-path': Flags.string({
      description: 'file for the output of a detached container (its directory must exist and be writable by no other user)',
      exclusive: ['no-log'],
      helpValue: 'FILE',
    }),
    memory: Flags.string({char: 'm', description: 'memory limit: 64m, 1g (k, m, g: powers of 1024; at least 6m)', helpValue: 'SIZE'}),
    'memory-limit': Flags.string({description: "memory limit in bytes (Go ctr's flag)", exclusive: ['memory'], helpValue: 'BYTES'}),
    mount: Flags.string({
      description: 'mount, as Go ctr: type=bind,src=HOST,dst=PATH[,options=rbind:ro] or type=tmpfs,dst=PATH (repeatable)',
      helpValue: 'SPEC',
      multiple: true,
      multipleNonGreedy: true,
    }),
    net: Flags.string({
      aliases: ['network'],
      description: "network: host, none, bridge (ctr-bridge) or a CNI network name (repeatable); without it, the bundle's or none for an image",
      exclusive: ['net-host'],
      helpValue: 'NAME',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'net-host': Flags.boolean({description: "use the host's network namespace (as --net host; Go ctr's flag)"}),
    'no-log': Flags.boolean({description: 'discard the output of a detached container (no log file)'}),
    'no-sig-proxy': Flags.boolean({description: 'do not forward signals to the container (an interrupt detaches ctr)'}),
    'pids-limit': Flags.string({description: 'most processes the container may have (cgroup pids.max)', helpValue: 'N'}),
    privileged: Flags.boolean({description: 'all capabilities, no seccomp, no masked paths, every device allowed, /sys writable'}),
    publish: publishFlag({
      char: 'p',
      description: 'publish a container port on the host: [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] (repeatable; implies --net bridge)',
      helpValue: '[IP:]HOSTPORT:PORT',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'read-only': Flags.boolean({description: 'mount the root filesystem read-only'}),
    restart: Flags.string({
      description:
        "restart policy, through containerd's restart monitor (checks every 10 s by default): no, always, unless-stopped, on-failure[:N]. containerd 1.6 knows only 'keep running': always and unless-stopped both restart the process whenever it exits until 'containers stop'; on-failure is refused. 1.7+: as docker (on-failure[:N] only after a non-zero exit, at most N times). Detached starts only",
      helpValue: 'POLICY',
    }),
    rm: Flags.boolean({description: 'delete the container after it exits (needs --attach)'}),
    tmpfs: Flags.string({
      description: 'mount a tmpfs at PATH (noexec,nosuid,nodev; PATH:size=64m adds options; repeatable)',
      helpValue: 'PATH',
      multiple: true,
      multipleNonGreedy: true,
    }),
    tty: Flags.boolean({char: 't', description: 'allocate a terminal for the container (needs --attach)'}),
    user: Flags.string({
      char: 'u',
      description: "the process's user: UID[:GID] or NAME[:GROUP] (names from the rootfs's /etc/passwd and /etc/group)",
      helpValue: 'USER',
    }),
    volume: Flags.string({
      char: 'v',
      description:
        "bind-mount a host path, HOST:PATH[:ro|:rw] (HOST must exist; docker creates it), or a named volume, NAME:PATH[:ro|:rw|:nocopy] (made on first use, filled from an image's PATH when new; see 'ctr volumes'); repeatable",
      helpValue: 'HOST:PATH',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run(): Promise<RunResult | StartedContainer | StartedAgain> {
    const {args, flags} = this
    // The flag rules, checked here once: the library's options cannot express these combinations.
    if (flags.tty && !flags.attach) {
      throw usageError('--tty needs --attach (a detached container has no terminal to talk to, and its log file cannot hold one)')
    }
    if (flags.tty && !process.stdin.isTTY) throw usageError('the input device is not a TTY (drop -t, or run from a terminal)')
    if (flags.rm && !flags.attach) throw usageError('--rm needs --attach (ctr deletes the container after waiting for its exit)')
    if (flags.attach && (flags['log-path'] !== undefined || flags['log-opt'] || flags['no-log']))
      throw usageError('--log-path, --log-opt and --no-log are for detached starts (attached, the output comes to ctr)')
    if (args.bundle === undefined) return this.startAgain()
    const restore = flags.checkpoint ? await restoreFrom(this.client, args.id, flags.checkpoint) : undefined
    const rotation = parseLogOptions(flags['log-opt'] ?? [])
    const command = positionalArgs(await this.parse(ContainersStart), " (see 'ctr containers start --help')").slice(2)
    const source = await resolveSource(this.client, args.bundle, {signal: this.signal})
    const from = source.kind === 'image' ? {image: source.name} : {bundle: source.path}
    const {settings, env, labels: given} = await this.runSettings()
    if (flags.restart !== undefined && flags.attach) throw usageError('--restart is for detached starts (containerd restarts the process, not ctr)')
    const policy = flags.restart === undefined ? {} : await restartLabels(this.client, parseRestartPolicy(flags.restart))
    const labels = given || Object.keys(policy).length > 0 ? {...given, ...policy} : undefined
    const networks = flags['net-host'] ? ['host'] : flags.net
    const options = {
      id: args.id,
      ...from,
      args: command.length > 0 ? command : undefined,
      env,
      labels,
      settings,
      restore,
      networks,
      portMappings: flags.publish,
      signal: this.signal,
    }
    if (!flags.attach) {
      const spinner = this.ux.spinner(`starting ${args.id}`)
      try {
        return await startContainer(this.client, {...options, log: flags['no-log'] ? undefined : {path: flags['log-path'], ...rotation}})
      } finally {
        spinner.stop()
      }
    }
    const result = await this.whileAttached(() =>
      runContainer(this.client, {
        ...options,
        attach: (name, terminal) => attachStdio(this.client, {name, terminal, hangUp: this.hangUp.signal}),
        tty: flags.tty,
        rm: flags.rm,
        consoleSize: process.stdout.isTTY ? {width: process.stdout.columns, height: process.stdout.rows} : undefined,
        proxySignals: !flags['no-sig-proxy'],
      }),
    )
    process.exitCode = result.exitStatus
    return result
  }

  /** Mounts, limits, user and the rest (containers/run-options.ts); --env-file before -e, as docker. */
  private async runSettings() {
    const {flags} = this
    const settings = await parseRunSettings({
      mount: flags.mount,
      volume: flags.volume,
      tmpfs: flags.tmpfs,
      memory: flags.memory,
      memoryLimit: flags['memory-limit'],
      cpus: flags.cpus,
      cpuShares: flags['cpu-shares'],
      pidsLimit: flags['pids-limit'],
      user: flags.user,
      cwd: flags.cwd,
      hostname: flags.hostname,
      readOnly: flags['read-only'],
      privileged: flags.privileged,
      capAdd: flags['cap-add'],
      capDrop: flags['cap-drop'],
    })
    const fromFiles = (await Promise.all((flags['env-file'] ?? []).map((file) => readEnvFile(file)))).flat()
    const env = [...fromFiles, ...(flags.env ?? [])]
    return {settings, env: env.length > 0 ? env : undefined, labels: flags.label ? parseLabels(flags.label) : undefined}
  }

  /** `start ID`: the creation flags have nothing to act on. */
  private async startAgain(): Promise<StartedAgain> {
    const {flags} = this
    // prettier-ignore
    const creating = ([
      'attach', 'cap-add', 'cap-drop', 'checkpoint', 'cpu-shares', 'cpus', 'cwd', 'env', 'env-file', 'hostname', 'label', 'log-opt', 'log-path',
      'memory', 'memory-limit', 'mount', 'net', 'net-host', 'no-log', 'no-sig-proxy', 'pids-limit', 'privileged', 'publish', 'read-only', 'restart', 'rm',
      'tmpfs', 'tty', 'user', 'volume',
    ] as const).filter((name) => {
      const value = flags[name]
      return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false
    })
    if (creating.length > 0) throw usageError(`--${creating[0]} is for creating a container: with no SOURCE, start runs an existing one as it was made`)
    return startExisting(this.client, this.args.id, {signal: this.signal})
  }
}
