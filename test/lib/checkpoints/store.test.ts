import {describe, expect, it} from 'vitest'

import {
  checkCheckpointName,
  checkpointRoot,
  containerCheckpointDir,
  criuConfig,
  criuReason,
  decodeMetadata,
  DEFAULT_CHECKPOINT_DIR,
  encodeMetadata,
  tidyDaemonMessage,
} from '../../../src/lib/checkpoints/store'
import {CtrError} from '../../../src/lib/containerd/errors'

const usage = (fn: () => void) => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(CtrError)
    expect((error as CtrError).kind).toBe('usage')
    expect((error as CtrError).message).not.toContain('\n')
    return (error as CtrError).message
  }
  throw new Error('expected a usage error')
}

describe('checkpoint names', () => {
  it.each(['test', 'test2', 'a', 'A.b_c-d', '0', 'x'.repeat(76), 'v1.2'])('accepts %j', (name) => {
    expect(() => checkCheckpointName(name)).not.toThrow()
  })

  it.each(['', '.', '..', '../x', 'a/b', '/abs', '.hidden', '-dash', '_under', 'a..b', 'a\0b', 'sp ace', 'é', 'x'.repeat(77), 'a\nb'])('rejects %j with a one-line usage error', (name) => {
    expect(usage(() => checkCheckpointName(name))).toContain(`invalid checkpoint name ${JSON.stringify(name)}`)
  })
})

describe('store paths', () => {
  it('nests namespace and container under the root', () => {
    expect(containerCheckpointDir('/store', 'default', 'redis')).toBe('/store/default/redis')
  })

  it.each([
    ['default', '..'],
    ['default', '../x'],
    ['default', 'a/b'],
    ['..', 'redis'],
    ['a/b', 'redis'],
    ['', 'redis'],
  ])('never lets namespace %j / container %j escape the root', (namespace, id) => {
    usage(() => containerCheckpointDir('/store', namespace, id))
  })

  it('takes the root from the option, else CTR_CHECKPOINT_DIR, else the default, absolute', () => {
    expect(checkpointRoot({root: '/a'}, {CTR_CHECKPOINT_DIR: '/b'})).toBe('/a')
    expect(checkpointRoot({}, {CTR_CHECKPOINT_DIR: '/b/'})).toBe('/b')
    expect(checkpointRoot({}, {})).toBe(DEFAULT_CHECKPOINT_DIR)
    expect(checkpointRoot({}, {CTR_CHECKPOINT_DIR: 'rel'})).toBe(`${process.cwd()}/rel`)
  })
})

describe('checkpoint.json', () => {
  const checkpoint = {
    name: 'test',
    container: 'redis',
    namespace: 'default',
    created: new Date('2024-05-01T10:00:00.123Z'),
    tcp: true,
    unixSockets: false,
    shell: true,
    exit: false,
    fileLocks: true,
  }

  it('round-trips, with the path from where it was read', () => {
    const text = encodeMetadata(checkpoint)
    expect(JSON.parse(text)).toEqual({...checkpoint, created: '2024-05-01T10:00:00.123Z'})
    expect(decodeMetadata(text, '/store/default/redis/test')).toEqual({...checkpoint, path: '/store/default/redis/test'})
  })

  it('does not write a path (the store may move with CTR_CHECKPOINT_DIR)', () => {
    expect(JSON.parse(encodeMetadata({...checkpoint, path: '/x'} as never))).not.toHaveProperty('path')
  })

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['missing flag', JSON.stringify({...checkpoint, tcp: undefined})],
    ['flag of the wrong type', JSON.stringify({...checkpoint, exit: 'false'})],
    ['bad date', JSON.stringify({...checkpoint, created: 'yesterday'})],
    ['missing name', JSON.stringify({...checkpoint, name: undefined})],
  ])('treats %s as no checkpoint', (_what, text) => {
    expect(decodeMetadata(text, '/p')).toBeUndefined()
  })
})

describe('criuConfig', () => {
  const none = {tcp: false, unixSockets: false, shell: false, exit: false, fileLocks: false}
  it('names the CRIU options a restore needs again, and only those', () => {
    expect(criuConfig(none)).toBe('')
    expect(criuConfig({...none, exit: true})).toBe('')
    expect(criuConfig({...none, tcp: true})).toBe('tcp-established')
    expect(criuConfig({tcp: true, unixSockets: true, shell: true, exit: true, fileLocks: true})).toBe('tcp-established\next-unix-sk\nshell-job\nfile-locks')
  })
})

describe('criuReason', () => {
  it('finds the cause of the vDSO failure of criu 3.17 on these machines (the log as CRIU wrote it)', () => {
    const log = `(00.000468) Version: 3.17.1 (gitid 0)
(00.000489) Would overwrite RPC settings with values from /etc/criu/runc.conf
(00.001929) Error (criu/util.c:642): exited, status=1
(00.002466) Error (criu/util.c:642): exited, status=1
(00.002512) Pagemap is fully functional
(00.007494) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds
(00.007495) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable
(00.007496) Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.
(00.007519) Adjust mmap_min_addr 0x1000 -> 0x10000
(00.007527) files stat: fs/nr_open 1048576
`
    expect(criuReason(log)).toBe('vdso: Unexpected rt vDSO area bounds')
  })

  it('skips the generic "Dumping FAILED" after the cause', () => {
    const log = `(00.1) Error (criu/sk-inet.c:196): inet: Connected TCP socket, consider using --tcp-established option.
(00.2) Error (criu/cr-dump.c:1623): Dump files (pid: 5) failed with -1
(00.3) Unfreezing tasks into 1
(00.4) Error (criu/cr-dump.c:2046): Dumping FAILED.
`
    expect(criuReason(log)).toBe('inet: Connected TCP socket, consider using --tcp-established option.')
  })

  it('reads errors logged with a pid prefix', () => {
    expect(criuReason('(00.1)     42: Error (criu/files-reg.c:10): File /x has bad size\n')).toBe('File /x has bad size')
  })

  it('falls back to the last generic error, and to nothing without errors', () => {
    expect(criuReason('(00.1) Error (criu/cr-dump.c:1): Dumping FAILED.\n')).toBe('Dumping FAILED.')
    expect(criuReason('(00.1) Dumping finished successfully\n')).toBeUndefined()
    expect(criuReason('')).toBeUndefined()
  })
})

describe('tidyDaemonMessage', () => {
  it("keeps runc's first line without the shim's log path or the gRPC suffix", () => {
    expect(tidyDaemonMessage('runc did not terminate successfully: exit status 1: criu failed: type DUMP errno 0 path= /run/x/criu-dump.log: unknown')).toBe(
      'runc did not terminate successfully: exit status 1: criu failed: type DUMP errno 0',
    )
    expect(tidyDaemonMessage('OCI runtime restore failed: criu failed: type RESTORE errno 0\nlog file: /x/restore.log')).toBe('OCI runtime restore failed: criu failed: type RESTORE errno 0')
  })
})
