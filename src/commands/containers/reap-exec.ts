import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {reapExec} from '../../lib/tasks/exec-exits'

/**
 * Internal: what a detached `containers exec` leaves behind in the background (cli/exec-reaper.ts) to remove
 * the exec process once it exits and keep its exit status on the container (lib/tasks/exec-exits.ts).
 */
export default class ContainersReapExec extends BaseCommand<typeof ContainersReapExec> {
  static description = 'Wait for a detached exec process to exit, record its exit status and delete it (run by ctr itself)'
  static flags = {
    'exec-id': Flags.string({required: true}),
    id: Flags.string({required: true}),
    pid: Flags.integer({required: true}),
  }
  static hidden = true

  async run(): Promise<void> {
    const {id, pid} = this.flags
    await reapExec(this.client, {id, execId: this.flags['exec-id'], pid}, {signal: this.signal})
  }
}
