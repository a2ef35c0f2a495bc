/**
 * Conformance of our own protos (proto/) with containerd 1.6.20's and containerd/cgroups' reference protos
 * (Debian packages golang-github-containerd-{containerd,cgroups}-dev, installed into a cache dir if missing).
 * Both trees are built with buf into FileDescriptorSets and compared message by message, field by field.
 *
 *   npx vitest run test/conformance
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'

import {create, createFileRegistry, fromBinary, toBinary, type DescMessage, type FileRegistry} from '@bufbuild/protobuf'
import {type FileDescriptorSet, FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorSetSchema} from '@bufbuild/protobuf/wkt'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Metrics as CgroupsV1Metrics} from '../../src/gen/cgroups/v1/metrics'
import {Envelope} from '../../src/gen/containerd/services/events/v1/events'
import {CheckpointOptions} from '../../src/gen/containerd/runc/options/oci'
import {
  CreateTaskRequest,
  MetricsResponse,
  TasksDefinition,
  WaitResponse,
} from '../../src/gen/containerd/services/tasks/v1/tasks'
import {ContainersDefinition} from '../../src/gen/containerd/services/containers/v1/containers'
import {EventsDefinition} from '../../src/gen/containerd/services/events/v1/events'
import {ContentDefinition, WriteAction, WriteContentRequest, WriteContentResponse} from '../../src/gen/containerd/services/content/v1/content'
import {DiffDefinition} from '../../src/gen/containerd/services/diff/v1/diff'
import {ImagesDefinition} from '../../src/gen/containerd/services/images/v1/images'
import {LeasesDefinition} from '../../src/gen/containerd/services/leases/v1/leases'
import {Kind, SnapshotsDefinition, StatSnapshotResponse} from '../../src/gen/containerd/services/snapshots/v1/snapshots'
import {
  OUR_PROTO_DIR,
  ROOT,
  buildDescriptorSet,
  cleanupTempDirs,
  compareSets,
  copyTree,
  ensureReference,
  indexSet,
  prepareReferenceModule,
  stripGoOptions,
} from './descriptors'

let ours: FileDescriptorSet
let ref: FileDescriptorSet

beforeAll(() => {
  const gocode = ensureReference()
  ref = buildDescriptorSet(prepareReferenceModule(gocode))
  ours = buildDescriptorSet(OUR_PROTO_DIR)
}, 300_000)
afterAll(cleanupTempDirs)

// A deep copy that keeps protobuf-es' prototypes (proto2 defaults), unlike structuredClone.
const clone = (set: FileDescriptorSet): FileDescriptorSet => fromBinary(FileDescriptorSetSchema, toBinary(FileDescriptorSetSchema, set))

function findMessage(set: FileDescriptorSet, fullName: string) {
  const m = indexSet(set).messages.get(fullName)
  if (!m) throw new Error(`no message ${fullName}`)
  return m.msg
}

describe('our protos vs containerd 1.6 reference', () => {
  it('declare the services and packages the client needs', () => {
    const idx = indexSet(ours)
    expect([...idx.services.keys()].sort()).toEqual([
      'containerd.services.containers.v1.Containers',
      'containerd.services.content.v1.Content',
      'containerd.services.diff.v1.Diff',
      'containerd.services.events.v1.Events',
      'containerd.services.images.v1.Images',
      'containerd.services.leases.v1.Leases',
      'containerd.services.namespaces.v1.Namespaces',
      'containerd.services.snapshots.v1.Snapshots',
      'containerd.services.tasks.v1.Tasks',
      'containerd.services.version.v1.Version',
    ])
    for (const name of [
      'containerd.services.events.v1.Envelope',
      'containerd.types.Mount',
      'containerd.types.Metric',
      'containerd.v1.types.Process',
      'containerd.events.TaskExit',
      'containerd.events.ContainerCreate.Runtime',
      'containerd.services.images.v1.ImageCreate',
      'containerd.runc.v1.Options',
      'containerd.runc.v1.CheckpointOptions',
      'containerd.runc.v1.ProcessDetails',
      'io.containerd.cgroups.v1.Metrics',
      'io.containerd.cgroups.v2.Metrics',
    ]) {
      expect(idx.messages.has(name), name).toBe(true)
    }
    expect(idx.enums.has('containerd.v1.types.Status')).toBe(true)
  })

  it('match the reference exactly (names, numbers, types, labels, enums, RPCs)', () => {
    const problems = compareSets(ours, ref)
    expect(problems, `mismatches:\n  ${problems.join('\n  ')}`).toEqual([])
  })

  it('every reference message in a package we use is declared by us (nothing silently dropped)', () => {
    const o = indexSet(ours)
    const r = indexSet(ref)
    const missing = [...r.messages.keys()].filter((n) => !o.messages.has(n))
    expect(missing, `declared in the reference, missing from proto/:\n  ${missing.join('\n  ')}`).toEqual([])
  })

  it('contain no gogoproto or Go-specific options', () => {
    for (const file of ours.file) {
      expect(file.dependency.filter((d) => !d.startsWith('google/protobuf/') && !d.startsWith('containerd/')), file.name).toEqual([])
    }
  })
})

describe('the comparison can fail', () => {
  it('reports a changed field number, a dropped field and a renamed field from an altered proto copy', () => {
    const dir = copyTree(OUR_PROTO_DIR)
    const tasks = join(dir, 'containerd/services/tasks/v1/tasks.proto')
    const src = readFileSync(tasks, 'utf8')
    const altered = src
      .replace(/(message ExecProcessRequest \{[^}]*?)string exec_id = 7;/, '$1string exec_id = 8;')
      .replace(/(message KillRequest \{[^}]*?)\n\s*bool all = 4;/, '$1')
      .replace(/(message WaitRequest \{[^}]*?)string exec_id = 2;/, '$1string exec = 2;')
    expect(altered).not.toBe(src)
    writeFileSync(tasks, altered)
    const problems = compareSets(buildDescriptorSet(dir), ref)
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ExecProcessRequest: field exec_id = 8 .* not in the reference/),
        expect.stringMatching(/ExecProcessRequest: missing reference field exec_id = 7/),
        expect.stringMatching(/KillRequest: missing reference field all = 4/),
        expect.stringMatching(/WaitRequest: field #2: ours "exec = 2 .*" != reference "exec_id = 2 /),
      ]),
    )
    expect(problems).toHaveLength(4)
  })

  it('reports type, label, type-name, enum, RPC and unknown-message differences', () => {
    const set = clone(ours)
    const pids = findMessage(set, 'io.containerd.cgroups.v1.PidsStat')
    pids.field[0].type = FieldDescriptorProto_Type.UINT32 // current: uint64 -> uint32
    const list = findMessage(set, 'containerd.services.tasks.v1.ListTasksResponse')
    list.field[0].label = FieldDescriptorProto_Label.OPTIONAL // repeated -> optional
    const get = findMessage(set, 'containerd.services.tasks.v1.GetResponse')
    get.field[0].typeName = '.containerd.v1.types.ProcessInfo'
    indexSet(set).enums.get('containerd.v1.types.Status')!.en.value[1].number = 7
    const svc = indexSet(set).services.get('containerd.services.events.v1.Events')!.svc
    svc.method.find((m) => m.name === 'Subscribe')!.serverStreaming = false
    indexSet(set).services.get('containerd.services.version.v1.Version')!.svc.method.pop()
    findMessage(set, 'containerd.types.Platform').name = 'Platforms'

    const problems = compareSets(set, ref)
    const expected = [
      /PidsStat: field #1: ours "current = 1 OPTIONAL UINT32" != reference "current = 1 OPTIONAL UINT64"/,
      /ListTasksResponse: field #1: ours "tasks = 1 OPTIONAL MESSAGE/,
      /GetResponse: field #1: .*ProcessInfo.* != reference .*containerd\.v1\.types\.Process"/,
      /enum containerd\.v1\.types\.Status: value CREATED=7 not in the reference/,
      /enum containerd\.v1\.types\.Status: missing reference value CREATED=1/,
      /Events: ours "rpc Subscribe\(containerd\.services\.events\.v1\.SubscribeRequest\) returns \(containerd/,
      /Version: missing reference rpc Version/,
      /message containerd\.types\.Platforms .*not in the reference/,
    ]
    for (const re of expected) expect(problems.some((p) => re.test(p)), `${re} in:\n${problems.join('\n')}`).toBe(true)
    expect(problems).toHaveLength(expected.length)
  })

  it('strips gogoproto options without touching the rest', () => {
    const src = [
      'import weak "gogoproto/gogo.proto";',
      'option (gogoproto.sizer_all) = true;',
      'message M {',
      '  string digest = 2 [(gogoproto.customtype) = "github.com/x.Digest", (gogoproto.nullable) = false];',
      '  U = 0 [(gogoproto.enumvalue_customname) = "X"];',
      '  option (containerd.plugin.fieldpath) = true;',
      '}',
    ].join('\n')
    expect(stripGoOptions(src).trim().split('\n').filter(Boolean)).toEqual([
      'message M {',
      '  string digest = 2;',
      '  U = 0;',
      '}',
    ])
  })
})

describe('generated code (src/gen)', () => {
  const genDir = join(ROOT, 'src', 'gen')
  const files = (dir: string): string[] =>
    readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))

  it('does not parse .proto files at run time', () => {
    for (const f of files(genDir)) {
      const text = readFileSync(f, 'utf8')
      expect(text, relative(ROOT, f)).not.toMatch(/protobufjs|@grpc\/proto-loader|\.proto["']/)
      for (const m of text.matchAll(/^import .* from "([^."][^"]*)";$/gm)) expect(m[1], relative(ROOT, f)).toMatch(/^@bufbuild\/protobuf\//)
    }
  })

  it('has one file per proto file', () => {
    const protos = files(OUR_PROTO_DIR).map((f) => relative(OUR_PROTO_DIR, f).replace(/\.proto$/, ''))
    const gen = files(genDir).map((f) => relative(genDir, f).replace(/\.ts$/, ''))
    expect(gen.filter((g) => !g.startsWith('google/')).sort()).toEqual(protos.sort())
  })

  it('exposes generic service definitions with the reference RPCs', () => {
    expect(TasksDefinition.fullName).toBe('containerd.services.tasks.v1.Tasks')
    expect(TasksDefinition.methods.create.name).toBe('Create')
    expect(TasksDefinition.methods.create.requestType).toBe(CreateTaskRequest)
    expect(ContainersDefinition.methods.listStream.responseStream).toBe(true)
    expect(EventsDefinition.methods.subscribe.responseStream).toBe(true)
    expect(ContentDefinition.methods.write).toMatchObject({requestStream: true, responseStream: true})
    expect(ContentDefinition.methods.read).toMatchObject({requestStream: false, responseStream: true})
    expect(SnapshotsDefinition.methods.list.responseStream).toBe(true)
    const r = indexSet(ref)
    const defs = [
      TasksDefinition,
      ContainersDefinition,
      EventsDefinition,
      ContentDefinition,
      ImagesDefinition,
      LeasesDefinition,
      SnapshotsDefinition,
      DiffDefinition,
    ]
    for (const def of defs) {
      const names = Object.values(def.methods).map((m) => m.name).sort()
      expect(names).toEqual(r.services.get(def.fullName)!.svc.method.map((m) => m.name!).sort())
    }
  })

  describe('wire round trips against the reference descriptors', () => {
    let registry: FileRegistry
    const desc = (n: string) => registry.getMessage(n) as DescMessage
    beforeAll(() => {
      registry = createFileRegistry(ref)
    })

    it('a CreateTaskRequest we encode decodes with the reference schema', () => {
      const bytes = CreateTaskRequest.encode(
        CreateTaskRequest.fromPartial({
          containerId: 'c1',
          rootfs: [{type: 'bind', source: '/a', target: '/b', options: ['rbind', 'ro']}],
          stdout: '/tmp/o',
          stderr: '/tmp/e',
          terminal: true,
          checkpoint: {mediaType: 'application/x', digest: 'sha256:00', size: 42n, annotations: {k: 'v'}},
          options: {typeUrl: 'containerd.runc.v1.Options', value: Buffer.from([0x08, 0x01])},
          runtimePath: '/bin/x',
        }),
      ).finish()
      const m = fromBinary(desc('containerd.services.tasks.v1.CreateTaskRequest'), bytes) as any
      expect(m.containerId).toBe('c1')
      expect(m.rootfs[0]).toMatchObject({type: 'bind', source: '/a', target: '/b', options: ['rbind', 'ro']})
      expect(m.stdout).toBe('/tmp/o')
      expect(m.terminal).toBe(true)
      expect(m.checkpoint).toMatchObject({mediaType: 'application/x', digest: 'sha256:00', size: 42n, annotations: {k: 'v'}})
      expect(m.options.typeUrl).toBe('containerd.runc.v1.Options')
      expect([...m.options.value]).toEqual([0x08, 0x01])
      expect(m.runtimePath).toBe('/bin/x')
    })

    it('reference-encoded responses decode with our generated code (Date, bigint, Any)', () => {
      const waitDesc = desc('containerd.services.tasks.v1.WaitResponse')
      const wait = WaitResponse.decode(
        toBinary(waitDesc, create(waitDesc, {exitStatus: 137, exitedAt: {seconds: 1_700_000_000n, nanos: 5_000_000}} as any)),
      )
      expect(wait.exitStatus).toBe(137)
      expect(wait.exitedAt?.toISOString()).toBe(new Date(1_700_000_000_005).toISOString())

      const v1Desc = desc('io.containerd.cgroups.v1.Metrics')
      const v1Bytes = toBinary(
        v1Desc,
        create(v1Desc, {
          pids: {current: 3n, limit: 0n},
          cpu: {usage: {total: 123_456_789_012n, perCpu: [1n, 2n]}},
          memory: {usage: {usage: 4096n, limit: 9223372036854771712n}},
        } as any),
      )
      const mrDesc = desc('containerd.services.tasks.v1.MetricsResponse')
      const resp = MetricsResponse.decode(
        toBinary(
          mrDesc,
          create(mrDesc, {
            metrics: [{id: 'c1', timestamp: {seconds: 1n, nanos: 0}, data: {typeUrl: 'io.containerd.cgroups.v1.Metrics', value: v1Bytes}}],
          } as any),
        ),
      )
      expect(resp.metrics[0].id).toBe('c1')
      expect(resp.metrics[0].data?.typeUrl).toBe('io.containerd.cgroups.v1.Metrics')
      const metrics = CgroupsV1Metrics.decode(resp.metrics[0].data!.value)
      expect(metrics.pids?.current).toBe(3n)
      expect(metrics.cpu?.usage?.total).toBe(123_456_789_012n)
      expect(metrics.cpu?.usage?.perCpu).toEqual([1n, 2n])
      expect(metrics.memory?.usage?.limit).toBe(9223372036854771712n)
    })

    it('Content.Write messages and a snapshot Info round-trip through the reference schema (enums, bytes, labels)', () => {
      const req = WriteContentRequest.fromPartial({
        action: WriteAction.COMMIT,
        ref: 'import-sha256:ab',
        total: 5_000_000_000n,
        expected: 'sha256:ab',
        offset: 4_999_999_999n,
        data: Buffer.from([1, 2, 3]),
        labels: {'containerd.io/gc.ref.content.l.0': 'sha256:cd'},
      })
      const reqDesc = desc('containerd.services.content.v1.WriteContentRequest')
      const decoded = fromBinary(reqDesc, WriteContentRequest.encode(req).finish()) as any
      expect(decoded).toMatchObject({action: 2, ref: 'import-sha256:ab', total: 5_000_000_000n, expected: 'sha256:ab', offset: 4_999_999_999n})
      expect([...decoded.data]).toEqual([1, 2, 3])
      expect(decoded.labels).toEqual({'containerd.io/gc.ref.content.l.0': 'sha256:cd'})

      const resDesc = desc('containerd.services.content.v1.WriteContentResponse')
      const res = WriteContentResponse.decode(
        toBinary(resDesc, create(resDesc, {action: 0, offset: 7n, total: 9n, digest: 'sha256:ef', startedAt: {seconds: 2n, nanos: 0}} as any)),
      )
      expect(res).toMatchObject({action: WriteAction.STAT, offset: 7n, total: 9n, digest: 'sha256:ef'})
      expect(res.startedAt?.getTime()).toBe(2000)

      const statDesc = desc('containerd.services.snapshots.v1.StatSnapshotResponse')
      const stat = StatSnapshotResponse.decode(
        toBinary(statDesc, create(statDesc, {info: {name: 'sha256:01', parent: 'sha256:02', kind: 3, labels: {a: 'b'}}} as any)),
      )
      expect(stat.info).toMatchObject({name: 'sha256:01', parent: 'sha256:02', kind: Kind.COMMITTED, labels: {a: 'b'}})
    })

    it('Envelope and CheckpointOptions survive a round trip through the reference schema', () => {
      const env = Envelope.fromPartial({
        timestamp: new Date(1_700_000_000_123),
        namespace: 'ns',
        topic: '/tasks/exit',
        event: {typeUrl: 'containerd.events.TaskExit', value: Buffer.from('x')},
      })
      const envDesc = desc('containerd.services.events.v1.Envelope')
      const back = Envelope.decode(toBinary(envDesc, fromBinary(envDesc, Envelope.encode(env).finish())))
      expect(back).toEqual(env)

      const opts = CheckpointOptions.fromPartial({exit: true, openTcp: true, emptyNamespaces: ['network'], imagePath: '/x'})
      const coDesc = desc('containerd.runc.v1.CheckpointOptions')
      const decoded = fromBinary(coDesc, CheckpointOptions.encode(opts).finish()) as any
      expect(decoded).toMatchObject({exit: true, openTcp: true, emptyNamespaces: ['network'], imagePath: '/x'})
    })
  })
})
