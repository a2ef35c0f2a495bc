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
import ContainersCp from '../commands/containers/cp'
import ContainersDelete from '../commands/containers/delete'
import ContainersExec from '../commands/containers/exec'
import ContainersInfo from '../commands/containers/info'
import ContainersKill from '../commands/containers/kill'
import ContainersLogs from '../commands/containers/logs'
import ContainersPause from '../commands/containers/pause'
import ContainersPrune from '../commands/containers/prune'
import ContainersPs from '../commands/containers/ps'
import ContainersRestart from '../commands/containers/restart'
import ContainersResume from '../commands/containers/resume'
import ContainersStart from '../commands/containers/start'
import ContainersStats from '../commands/containers/stats'
import ContainersStop from '../commands/containers/stop'
import ContainersUpdate from '../commands/containers/update'
import ContainersWait from '../commands/containers/wait'
import Events from '../commands/events'
import Images from '../commands/images/index'
import ImagesExport from '../commands/images/export'
import ImagesImport from '../commands/images/import'
import ImagesInspect from '../commands/images/inspect'
import ImagesPrune from '../commands/images/prune'
import ImagesPull from '../commands/images/pull'
import ImagesPush from '../commands/images/push'
import ImagesRm from '../commands/images/rm'
import ImagesTag from '../commands/images/tag'
import Namespaces from '../commands/namespaces/index'
import NamespacesCreate from '../commands/namespaces/create'
import NamespacesDelete from '../commands/namespaces/delete'
import Networks from '../commands/networks/index'
import NetworksCreate from '../commands/networks/create'
import NetworksRm from '../commands/networks/rm'
import Run from '../commands/run'
import Tasks from '../commands/tasks/index'
import Version from '../commands/version'
import Volumes from '../commands/volumes/index'
import VolumesCreate from '../commands/volumes/create'
import VolumesPrune from '../commands/volumes/prune'
import VolumesRm from '../commands/volumes/rm'

export const COMMANDS = {
  bench: Bench,
  checkpoints: Checkpoints,
  'checkpoints:create': CheckpointsCreate,
  'checkpoints:delete': CheckpointsDelete,
  completion: Completion,
  containers: Containers,
  'containers:cp': ContainersCp,
  'containers:delete': ContainersDelete,
  'containers:exec': ContainersExec,
  'containers:info': ContainersInfo,
  'containers:kill': ContainersKill,
  'containers:logs': ContainersLogs,
  'containers:pause': ContainersPause,
  'containers:prune': ContainersPrune,
  'containers:ps': ContainersPs,
  'containers:restart': ContainersRestart,
  'containers:resume': ContainersResume,
  'containers:start': ContainersStart,
  'containers:stats': ContainersStats,
  'containers:stop': ContainersStop,
  'containers:update': ContainersUpdate,
  'containers:wait': ContainersWait,
  events: Events,
  images: Images,
  'images:export': ImagesExport,
  'images:import': ImagesImport,
  'images:inspect': ImagesInspect,
  'images:prune': ImagesPrune,
  'images:pull': ImagesPull,
  'images:push': ImagesPush,
  'images:rm': ImagesRm,
  'images:tag': ImagesTag,
  namespaces: Namespaces,
  'namespaces:create': NamespacesCreate,
  'namespaces:delete': NamespacesDelete,
  networks: Networks,
  'networks:create': NetworksCreate,
  'networks:rm': NetworksRm,
  run: Run,
  tasks: Tasks,
  version: Version,
  volumes: Volumes,
  'volumes:create': VolumesCreate,
  'volumes:prune': VolumesPrune,
  'volumes:rm': VolumesRm,
}
