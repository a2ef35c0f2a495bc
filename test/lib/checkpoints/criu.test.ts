import {describe, expect, it} from 'vitest'

import {criuConfig, criuReason, tidyDaemonMessage} from '../../../src/lib/checkpoints/criu'

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
    expect(tidyDaemonMessage('OCI runtime restore failed: criu failed: type RESTORE errno 0\nlog file: /x/restore.log')).toBe(
      'OCI runtime restore failed: criu failed: type RESTORE errno 0',
    )
  })
})
