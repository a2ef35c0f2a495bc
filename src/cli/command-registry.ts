/**
 * Every command, by oclif ID. oclif's explicit strategy reads this map instead of scanning directories at
 * start-up; the build bundles it into dist/cli.js.
 */
import Bench from '../commands/bench'
import Checkpoints from '../commands/checkpoints/index'
import CheckpointsCreate from '../commands/checkpoints/create'
import CheckpointsDelete from '../commands/checkpoints/delete'
import Completion from '../commands/completion'
import Containers from '../commands/containers/index'
import ContainersDelete from '../commands/containers/delete'
import ContainersExec from '../commands/containers/exec'
import ContainersKill from '../commands/containers/kill'
import ContainersPause from '../commands/containers/pause'
import ContainersPs from '../commands/containers/ps'
import ContainersResume from '../commands/containers/resume'
import ContainersStart from '../commands/containers/start'
import ContainersStats from '../commands/containers/stats'
import Events from '../commands/events'
import Images from '../commands/images/index'
import ImagesImport from '../commands/images/import'
import ImagesRm from '../commands/images/rm'
import Version from '../commands/version'

export const COMMANDS = {
  bench: Bench,
  checkpoints: Checkpoints,
  'checkpoints:create': CheckpointsCreate,
  'checkpoints:delete': CheckpointsDelete,
  completion: Completion,
  containers: Containers,
  'containers:delete': ContainersDelete,
  'containers:exec': ContainersExec,
  'containers:kill': ContainersKill,
  'containers:pause': ContainersPause,
  'containers:ps': ContainersPs,
  'containers:resume': ContainersResume,
  'containers:start': ContainersStart,
  'containers:stats': ContainersStats,
  events: Events,
  images: Images,
  'images:import': ImagesImport,
  'images:rm': ImagesRm,
  version: Version,
}
