import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command'
import {goNames} from '../../cli/go-names'
import type {Column} from '../../cli/output/ux'
import {listTasks, type TaskInfo} from '../../lib/tasks/tasks'

/** Go ctr's `tasks ls` columns; STATUS in its upper case. */
const columns: Column<TaskInfo>[] = [
  {header: 'TASK', value: (t) => t.id},
  {header: 'PID', value: (t) => t.pid},
  {header: 'STATUS', value: (t) => t.status.toUpperCase()},
]

/** Go ctr's `tasks ls` (`t ls`), for its scripts: the tasks only, as Go lists them. ctr's own list is `containers`. */
export default class Tasks extends BaseCommand<typeof Tasks> {
  static description = `List the tasks of the namespace, as Go ctr's 'tasks ls' does

For Go ctr scripts. Containers without a task are not listed: 'ctr containers' lists every container with its task's state.`
  static enableJsonFlag = true
  static examples = ['<%= config.bin %> tasks ls', '<%= config.bin %> t ls -q']
  static flags = {
    quiet: Flags.boolean({char: 'q', description: 'print task IDs only, one per line'}),
  }
  static hidden = true
  static hiddenAliases = goNames('tasks', ['', 'ls', 'list'], ['tasks'])

  async run(): Promise<TaskInfo[]> {
    const tasks = (await listTasks(this.client, {signal: this.signal})).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    this.ux.list(tasks, {columns, id: (t) => t.id}, {quiet: this.flags.quiet})
    return tasks
  }
}
