import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import type {CompletionHints} from '../../cli/completion'
import {attachStdio} from '../../lib/tasks/attach'
import {usageError} from '../../lib/containerd/errors'
import {positionalArgs} from '../../cli/positional-args'
import {execProcess, type ExecResult} from '../../lib/tasks/exec'
import {userFlag, userIdFlag} from '../../cli/flag-types'

export default class ContainersExec extends BaseCommand<typeof ContainersExec> {
  static completion: CompletionHints = {containerIds: ['id']}
  static description = `Run another process in a running container

The process starts from the container's own process spec (environment, capabilities, limits) with the given overrides. With --attach, ctr wires its stdin, stdout and stderr to the process, forwards the signals it receives (unless --tty), and exits with the process's exit code (128+N if killed by signal N). Without it, ctr prints the exec ID and leaves the process running; its output is discarded. Nothing of ctr's waits for a detached process: once it has exited, the next ctr command that touches the container (exec, ps, delete --exec-id) keeps its exit status for 'ctr containers ps --all' and deletes it from containerd, so the ID can be used again. An --exec-id whose process has exited but was never deleted (Go ctr's -d) is used again.`
  static enableJsonFlag = true
  static examples = [
    '<%= config.bin %> containers exec --id redis -a redis-cli ping',
    '<%= config.bin %> containers exec --id redis -a ls -la /data',
    "<%= config.bin %> containers exec --id redis -a --cwd /tmp -e FOO=bar -u 1000:1000 -- sh -c 'echo $FOO'",
    '<%= config.bin %> containers exec --id redis -it -u nobody sh',
    '<%= config.bin %> containers exec --id redis -a -t -- sh',
    '<%= config.bin %> containers exec --id redis --exec-id backup -- sh -c "tar c /data > /tmp/data.tar"',
  ]
  static flags = {
    attach: Flags.boolean({char: 'a', description: "connect to the process's stdio and exit with its exit code"}),
    cwd: Flags.string({description: "working directory of the process (absolute; default the container's)"}),
    env: Flags.string({char: 'e', description: 'environment variable KEY=VALUE for the process (repeatable)', multiple: true, multipleNonGreedy: true}),
    'exec-id': Flags.string({description: 'name of the exec process (default: a unique exec-<hex>)'}),
    gid: userIdFlag({char: 'g', description: "group ID of the process (default the container's)"}),
    id: Flags.string({description: 'container ID to add the process to (required)'}),
    tty: Flags.boolean({char: 't', description: 'allocate a terminal for the process (needs --attach)'}),
    interactive: Flags.boolean({char: 'i', description: "docker's -i: the same as --attach (stdin, stdout and stderr)"}),
    uid: userIdFlag({description: "user ID of the process (default the container's)"}),
    user: userFlag({char: 'u', description: "user of the process: UID, NAME, UID:GID or NAME:GROUP (names from the container's /etc/passwd, /etc/group)"}),
  }
  /** Every word from the first non-flag on is the program's (`exec --id x -a ls -a /`). */
  static programAfter = 0
  static strict = false
  static usage = 'containers exec --id ID [--exec-id NAME] [-a|-i] [-t] [--cwd DIR] [-e KEY=VALUE...] [-u USER[:GROUP]] [-g GID] [--] CMD [ARG...]'

  async run(): Promise<ExecResult> {
    const {flags} = this
    const attach = flags.attach || flags.interactive
    // Checked here, not with oclif's `required`, whose message is several lines.
    if (!flags.id) throw usageError("missing --id: the container to run the process in (see 'ctr containers exec --help')")
    // The process's output would go to the same stdout as the JSON: refused rather than mixed.
    if (attach && this.jsonEnabled()) throw usageError("--json cannot be used with --attach: the process's output would mix into the JSON")
    if (flags.tty && !attach) throw usageError('--tty needs --attach (a detached process has no terminal to talk to)')
    // docker's words: a terminal needs one to read from.
    if (flags.tty && !process.stdin.isTTY) throw usageError('the input device is not a TTY (drop -t, or run from a terminal)')
    const args = positionalArgs(await this.parse(ContainersExec), " (put the command after '--'; see 'ctr containers exec --help')")
    if (args.length === 0 || args[0] === '') throw usageError('missing command: give it after the flags, e.g. `--id ID -- sh -c "echo hi"`')
    const id = flags.id
    const options = {
      id,
      execId: flags['exec-id'],
      args,
      cwd: flags.cwd,
      env: flags.env,
      user: flags.user,
      uid: flags.uid,
      gid: flags.gid,
      terminal: flags.tty,
      consoleSize: process.stdout.isTTY ? {width: process.stdout.columns, height: process.stdout.rows} : undefined,
    }
    const result = attach
      ? await this.whileAttached(() =>
          execProcess(this.client, options, {
            io: (execId, terminal) => attachStdio(this.client, {name: execId, terminal, hangUp: this.hangUp.signal}),
            forwardSignals: !flags.tty,
            signal: this.signal,
          }),
        )
      : await execProcess(this.client, options, {signal: this.signal})
    if (result.exitStatus === undefined) {
      this.ux.log(result.execId)
    } else {
      process.exitCode = result.exitStatus
    }
    return result
  }
}
