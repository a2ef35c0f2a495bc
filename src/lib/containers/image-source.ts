/**
 * Starting a container from an image (issue 14 part B), as Go ctr's `run IMAGE ID` does it: the SOURCE rule
 * (bundle directory or image name), the image's config for this platform, a writable snapshot on top of the
 * image's unpacked layers (chain ID of rootfs.diff_ids), and the default runtime spec built from the config.
 */
import {stat} from 'node:fs/promises'

import {ImagesDefinition} from '../../gen/containerd/services/images/v1/images'
import {SnapshotsDefinition} from '../../gen/containerd/services/snapshots/v1/snapshots'
import type {Mount} from '../../gen/containerd/types/mount'
import type {CallOptions, ContainerdClient} from '../containerd/client'
import {CtrError} from '../containerd/errors'
import {readBlob} from '../images/content'
import {parseConfig, parseIndex, parseManifest, type ImageConfig} from '../images/layout'
import {isIndexType, isManifestType} from '../images/media-types'
import {defaultMatcher} from '../images/platform'
import {normalizeDockerRef} from '../images/naming'
import {chainIds, DEFAULT_SNAPSHOTTER} from '../images/unpack'
import type {RootDir} from './in-root'
import {lookupIds, readEntries} from '../tasks/users'
import {DEFAULT_PATH, type OciSpec} from './bundle'

export type Source = {kind: 'bundle'; path: string} | {kind: 'image'; name: string}

const pathLooking = (text: string) => text.startsWith('/') || text.startsWith('./') || text.startsWith('../') || text === '.' || text === '..'

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  )
}

/**
 * SOURCE: a path-looking argument (`/x`, `./x`, `../x`) or an existing directory is a bundle; otherwise an image
 * in the namespace (Images.Get), by the name as given or, failing that, as pull expands it (`busybox` →
 * `docker.io/library/busybox:latest`). A bare name that is both a directory and an image is refused (write
 * `./X` for the directory).
 */
export async function resolveSource(client: ContainerdClient, source: string, call: CallOptions = {}): Promise<Source> {
  if (pathLooking(source)) return {kind: 'bundle', path: source}
  const dir = await isDirectory(source)
  const image = (await imageExists(client, source, call)) ? source : await expandedImage(client, source, call)
  if (dir && image) {
    throw new CtrError('invalid-argument', `"${source}" is both a directory and an image in namespace "${client.namespace}": write ./${source} for the bundle`)
  }
  if (dir) return {kind: 'bundle', path: source}
  if (image) return {kind: 'image', name: image}
  throw new CtrError('not-found', `no bundle directory or image "${source}" in namespace "${client.namespace}"`)
}

async function imageExists(client: ContainerdClient, name: string, call: CallOptions): Promise<boolean> {
  return client
    .service(ImagesDefinition)
    .get({name}, call)
    .then(
      () => true,
      (error) => {
        if (error instanceof CtrError && error.kind === 'not-found') return false
        throw error
      },
    )
}

/** The name as `images pull` expands it, if that differs and is an image of the namespace. */
async function expandedImage(client: ContainerdClient, source: string, call: CallOptions): Promise<string | undefined> {
  let full: string
  try {
    full = normalizeDockerRef(source)
  } catch {
    return undefined // not a reference at all: neither is it an image
  }
  return full !== source && (await imageExists(client, full, call)) ? full : undefined
}

/** The image's config for this platform (index → best manifest → config). */
export async function imageConfig(client: ContainerdClient, name: string, call: CallOptions = {}): Promise<ImageConfig> {
  const {image} = await client.service(ImagesDefinition).get({name}, call)
  const target = image?.target
  if (!target) throw new CtrError('failed-precondition', `image "${name}" has no target`)
  const matcher = defaultMatcher()
  let desc: {mediaType: string; digest: string; platform?: {os: string; architecture: string; variant?: string}} = target
  for (let depth = 0; isIndexType(desc.mediaType); depth++) {
    if (depth > 4) throw new CtrError('failed-precondition', `image "${name}": index nesting too deep`)
    const index = parseIndex(await readBlob(client, desc.digest, call), desc.digest)
    const best = index.manifests
      .filter((m) => !m.platform || matcher.match(m.platform))
      .sort((a, b) => (a.platform ? matcher.rank(a.platform) : Number.MAX_SAFE_INTEGER) - (b.platform ? matcher.rank(b.platform) : Number.MAX_SAFE_INTEGER))[0]
    if (!best) throw new CtrError('not-found', `image "${name}" has no manifest for ${matcher.description}`)
    desc = best
  }
  if (!isManifestType(desc.mediaType)) throw new CtrError('failed-precondition', `image "${name}": unsupported media type ${desc.mediaType}`)
  const manifest = parseManifest(await readBlob(client, desc.digest, call), desc.digest)
  return parseConfig(await readBlob(client, manifest.config.digest, call), manifest.config.digest)
}

/** Snapshots.Stat(chainID): the image must be unpacked for the snapshotter. Returns the parent for Prepare. */
export async function imageParent(client: ContainerdClient, name: string, config: ImageConfig, snapshotter: string, call: CallOptions = {}): Promise<string> {
  const ids = chainIds(config.rootfs?.diff_ids ?? [])
  const chainId = ids.at(-1)
  if (!chainId) throw new CtrError('failed-precondition', `image "${name}" has no layers (rootfs.diff_ids is empty)`)
  await client
    .service(SnapshotsDefinition)
    .stat({snapshotter, key: chainId}, call)
    .catch((error) => {
      if (error instanceof CtrError && error.kind === 'not-found') {
        throw new CtrError('failed-precondition', `image ${name} is not unpacked for ${snapshotter}: ctr images import it again`)
      }
      throw error
    })
  return chainId
}

export async function prepareSnapshot(client: ContainerdClient, snapshotter: string, key: string, parent: string, call: CallOptions = {}): Promise<Mount[]> {
  const {mounts} = await client.service(SnapshotsDefinition).prepare({snapshotter, key, parent, labels: {}}, call)
  return mounts
}

/** Snapshots.Remove; not-found ignored. */
export async function removeSnapshot(client: ContainerdClient, snapshotter: string, key: string, call: CallOptions = {}): Promise<void> {
  await client
    .service(SnapshotsDefinition)
    .remove({snapshotter, key}, call)
    .catch((error) => {
      if (!(error instanceof CtrError && error.kind === 'not-found')) throw error
    })
}

/** The command Go ctr runs: Entrypoint + Cmd. */
export function imageCommand(config: ImageConfig): string[] {
  const c = config.config ?? {}
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
  return [...list(c.Entrypoint), ...list(c.Cmd)]
}

/**
 * The image's stop signal as Go's WithImageStopSignal(image, "SIGTERM") records it (label
 * io.containerd.image.config.stop-signal): config.StopSignal as written, else SIGTERM.
 */
export function imageStopSignal(config: ImageConfig): string {
  const signal = config.config?.StopSignal
  return typeof signal === 'string' && signal ? signal : 'SIGTERM'
}

const isNumber = (text: string) => /^\d+$/.test(text)

/**
 * The image's User (`uid`, `name`, `uid:gid`, `name:group`) as numbers, names looked up in the image's root
 * (`root`: its read-only view, snapshot-root.ts openImageRoot, opened when first needed) as exec's `-u`.
 */
export async function resolveImageUser(user: string, root: () => Promise<RootDir>, name: string): Promise<{uid: number; gid: number}> {
  const [u = '', g] = user.split(':')
  const group = g === undefined || g === '' ? undefined : g
  const ids = await lookupIds({user: u, group}, {root, missing: (what, n, file) => `image "${name}": no ${what} "${n}" in its /etc/${file}`})
  let gid = ids.gid ?? 0
  if (group === undefined && isNumber(u)) {
    // A numeric uid alone: its primary group from passwd when there is one (containerd's WithUserID does so).
    const entry = (await readEntries(await root(), 'passwd')).find((f) => f[2] === u)
    if (entry && isNumber(entry[3] ?? '')) gid = Number(entry[3])
  }
  return {uid: ids.uid ?? 0, gid}
}

/**
 * The default spec containerd's oci.GenerateSpec makes (namespaces, mounts, capabilities, masked paths),
 * with the image's process. root.path is the snapshot's mount point the shim makes (`rootfs`, in the bundle).
 */
export function defaultSpec(options: {
  namespace: string
  id: string
  args: string[]
  env: string[]
  cwd: string
  uid: number
  gid: number
  terminal: boolean
}): OciSpec {
  const caps = [
    'CAP_CHOWN',
    'CAP_DAC_OVERRIDE',
    'CAP_FSETID',
    'CAP_FOWNER',
    'CAP_MKNOD',
    'CAP_NET_RAW',
    'CAP_SETGID',
    'CAP_SETUID',
    'CAP_SETFCAP',
    'CAP_SETPCAP',
    'CAP_NET_BIND_SERVICE',
    'CAP_SYS_CHROOT',
    'CAP_KILL',
    'CAP_AUDIT_WRITE',
  ]
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: options.terminal,
      user: {uid: options.uid, gid: options.gid},
      args: options.args,
      env: options.env.some((e) => e.startsWith('PATH=')) ? options.env : [DEFAULT_PATH, ...options.env],
      cwd: options.cwd,
      capabilities: {bounding: caps, effective: caps, permitted: caps},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
      noNewPrivileges: true,
    },
    root: {path: 'rootfs'},
    mounts: [
      {destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev']},
      {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
      {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},
      {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
      {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
      {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
      {destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    ],
    linux: {
      resources: {devices: [{allow: false, access: 'rwm'}]},
      cgroupsPath: `/${options.namespace}/${options.id}`,
      namespaces: [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}, {type: 'network'}],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  }
}

export {DEFAULT_SNAPSHOTTER}
