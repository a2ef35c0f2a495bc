/**
 * A private distribution registry (Debian's docker-registry 2.8) for the pull/push tests, never the system
 * one: 127.0.0.1 on a free port, its own storage directory and config.yml, optionally htpasswd basic auth;
 * stopped by its PID. Images go in with skopeo.
 *
 *   const registry = await startRegistry({auth: {user: 'alice', password: 's3cret'}})
 *   await registry.put(ociArchive, 'test/busybox:1')      // skopeo copy oci-archive: → docker://
 *   await registry.stop()
 */
import {execFile, execFileSync, spawn} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface PrivateRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string
  readonly dir: string
  readonly pid: number
  /** Blob and manifest files live here (docker/registry/v2/...). */
  readonly storage: string
  put(archive: string, repoTag: string): Promise<void>
  /** skopeo inspect --raw's digest of a pushed ref. */
  inspectDigest(repoTag: string): Promise<string>
  /** Kills the registry (SIGKILL by PID), as a crash. */
  kill(): void
  /** Starts it again on the same port and storage. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** A free port on 127.0.0.1 (the kernel's choice, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, {timeout: 120_000, encoding: 'utf8'}, (error, stdout, stderr) =>
      error ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    ),
  )
}

export async function startRegistry(
  options: {auth?: {user: string; password: string}; tls?: {certificate: string; key: string; clientCAs?: string[]}} = {},
): Promise<PrivateRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const storage = join(dir, 'storage')
  let auth = ''
  if (options.auth) {
    const line = execFileSync('htpasswd', ['-nbB', options.auth.user, options.auth.password], {encoding: 'utf8'}).trim()
    await writeFile(join(dir, 'htpasswd'), `${line}\n`)
    auth = `auth:\n  htpasswd:\n    realm: ctr-test\n    path: ${join(dir, 'htpasswd')}\n`
  }
  // https with this certificate (and, with clientCAs, only for clients with a certificate they signed).
  const tls = options.tls
    ? `  tls:\n    certificate: ${options.tls.certificate}\n    key: ${options.tls.key}\n${
        options.tls.clientCAs ? `    clientcas:\n${options.tls.clientCAs.map((ca) => `      - ${ca}\n`).join('')}` : ''
      }`
    : ''
  await writeFile(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${tls}${auth}`,
  )
  let child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: 'ignore'})
  const ready = async () => {
    for (let i = 0; i < 100; i++) {
      // An https registry answers plain http with 400: it is up.
      const ok = await fetch(`http://${host}/v2/`).then(
        (r) => r.status === 200 || r.status === 401 || (Boolean(options.tls) && r.status === 400),
        () => false,
      )
      if (ok) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`registry on ${host} did not start`)
  }
  await ready()
  const creds = options.auth ? ['--dest-creds', `${options.auth.user}:${options.auth.password}`] : []
  const srcCreds = options.auth ? ['--creds', `${options.auth.user}:${options.auth.password}`] : []
  const stopChild = () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
  }
  process.once('exit', stopChild)
  return {
    host,
    dir,
    get pid() {
      return child.pid!
    },
    storage,
    async put(archive, repoTag) {
      await run('skopeo', ['copy', '--dest-tls-verify=false', ...creds, `oci-archive:${archive}`, `docker://${host}/${repoTag}`])
    },
    async inspectDigest(repoTag) {
      const out = await run('skopeo', ['inspect', '--tls-verify=false', ...srcCreds, `docker://${host}/${repoTag}`])
      return (JSON.parse(out) as {Digest: string}).Digest
    },
    kill: stopChild,
    async restart() {
      stopChild()
      await new Promise((r) => setTimeout(r, 100))
      child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: 'ignore'})
      await ready()
    },
    async stop() {
      stopChild()
      process.off('exit', stopChild)
      await rm(dir, {recursive: true, force: true})
    },
  }
}
