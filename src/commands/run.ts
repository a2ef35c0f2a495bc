import {Args, Flags} from '@oclif/core'

import {positionalArgs} from '../cli/positional-args'
import {usageError} from '../lib/containerd/errors'
import ContainersStart from './containers/start'

/**
 * Go ctr's `run`, mapped onto `containers start`: Go's argument order (IMAGE ID) and default (attached unless
 * -d). Everything after the mapping is containers start's own run().
 */
export default class Run extends ContainersStart {
  /** Go's order, IMAGE then ID; init() hands them to containers start's run() under its names (ID, bundle). */
  static args = {
    image: Args.string({description: 'an image in the namespace (a short name as pull expands it), or a bundle directory', required: true}),
    id: Args.string({description: 'container ID', required: true}),
  } as unknown as typeof ContainersStart.args
  static description = `Run a container from an image, as Go ctr's 'run' does (for its scripts)

The same as 'ctr containers start -a ID IMAGE [CMD...]' (with -d: 'containers start ID IMAGE', detached, its output in the container's log). Attached, ctr exits with the container's exit code; with --rm the container and its snapshot are deleted after it exits.`
  static enableJsonFlag = false
  static examples = ['<%= config.bin %> run --rm docker.io/library/busybox:latest hello echo hello', '<%= config.bin %> run -d busybox web httpd -f']
  static flags = {
    ...ContainersStart.flags,
    attach: Flags.boolean({char: 'a', description: 'attached is the default; see --detach', hidden: true}),
    detach: Flags.boolean({char: 'd', description: 'return once the container runs (its output goes to its log file)'}),
    rm: Flags.boolean({description: 'delete the container and its snapshot after it exits (not with --detach)'}),
    tty: Flags.boolean({char: 't', description: 'allocate a terminal for the container (not with --detach)'}),
  }
  static programAfter = 2
  /** Own, not inherited: oclif's parse(Run) reads only the class's own properties. */
  static strict = false
  static usage = 'run [-d] [--rm] [-t] [--net-host] [-e KEY=VALUE...] IMAGE ID [[--] CMD [ARG...]]'

  public async init(): Promise<void> {
    await super.init()
    const {detach} = this.flags as typeof this.flags & {detach: boolean}
    // Go's words for it.
    if (this.flags.rm && detach) throw usageError('flags --detach and --rm cannot be specified together')
    const [image, id, ...command] = positionalArgs(await this.parse(Run), " (see 'ctr run --help')")
    this.flags.attach = !detach
    this.args = {id, bundle: image}
    // containers start reads its command from argv (positionalArgs): give it its own order.
    this.argv = [id, image, '--', ...command]
  }
}
