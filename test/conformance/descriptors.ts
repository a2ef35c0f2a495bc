/**
 * Helpers for the proto conformance test: fetch containerd's own protos (Debian packages), build both proto
 * trees into FileDescriptorSets with buf, and compare them.
 */
import {execFileSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {fromBinary, isFieldSet} from '@bufbuild/protobuf'
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FieldDescriptorProto,
  FieldDescriptorProtoSchema,
  type FileDescriptorSet,
  FileDescriptorSetSchema,
  type ServiceDescriptorProto,
} from '@bufbuild/protobuf/wkt'

export const ROOT = resolve(__dirname, '..', '..')
export const OUR_PROTO_DIR = join(ROOT, 'proto')
const BUF = join(ROOT, 'node_modules', '.bin', 'buf')

const DEBS = ['golang-github-containerd-containerd-dev', 'golang-github-containerd-cgroups-dev']
const GOCODE = join('usr', 'share', 'gocode', 'src')

/** Reference files we compare against, relative to usr/share/gocode/src (= their import paths). */
export const REFERENCE_FILES = [
  'github.com/containerd/containerd/api/types/descriptor.proto',
  'github.com/containerd/containerd/api/types/metrics.proto',
  'github.com/containerd/containerd/api/types/mount.proto',
  'github.com/containerd/containerd/api/types/platform.proto',
  'github.com/containerd/containerd/api/types/task/task.proto',
  'github.com/containerd/containerd/api/services/version/v1/version.proto',
  'github.com/containerd/containerd/api/services/containers/v1/containers.proto',
  'github.com/containerd/containerd/api/services/tasks/v1/tasks.proto',
  'github.com/containerd/containerd/api/services/events/v1/events.proto',
  'github.com/containerd/containerd/api/services/namespaces/v1/namespace.proto',
  'github.com/containerd/containerd/api/services/content/v1/content.proto',
  'github.com/containerd/containerd/api/services/images/v1/images.proto',
  'github.com/containerd/containerd/api/services/leases/v1/leases.proto',
  'github.com/containerd/containerd/api/services/snapshots/v1/snapshots.proto',
  'github.com/containerd/containerd/api/services/diff/v1/diff.proto',
  'github.com/containerd/containerd/api/events/container.proto',
  'github.com/containerd/containerd/api/events/content.proto',
  'github.com/containerd/containerd/api/events/image.proto',
  'github.com/containerd/containerd/api/events/namespace.proto',
  'github.com/containerd/containerd/api/events/snapshot.proto',
  'github.com/containerd/containerd/api/events/task.proto',
  'github.com/containerd/containerd/runtime/v2/runc/options/oci.proto',
  'github.com/containerd/cgroups/stats/v1/metrics.proto',
  'github.com/containerd/cgroups/v2/stats/metrics.proto',
]

function hasAll(extractRoot: string): boolean {
  return REFERENCE_FILES.every((f) => existsSync(join(extractRoot, GOCODE, f)))
}

/**
 * Returns a directory holding usr/share/gocode/src/github.com/... from the Debian packages (containerd
 * 1.6.20, cgroups 1.0.4). With $CTR_PROTO_REF_DIR set, that directory is the only place used (and filled);
 * otherwise /tmp/ref/x, then a cache dir under the OS temp dir. Missing packages are fetched with
 * `apt-get download` (after one `apt-get update` if that fails) and extracted with `dpkg -x`.
 */
export function ensureReference(): string {
  const forced = process.env.CTR_PROTO_REF_DIR
  if (!forced && hasAll('/tmp/ref/x')) return join('/tmp/ref/x', GOCODE)
  const extractRoot = forced ? resolve(forced) : join(tmpdir(), 'ctr-conformance-ref', 'x')
  if (hasAll(extractRoot)) return join(extractRoot, GOCODE)
  const cache = mkdtempSync(join(tmpdir(), 'ctr-ref-debs-'))
  mkdirSync(extractRoot, {recursive: true})
  const download = () => execFileSync('apt-get', ['download', ...DEBS], {cwd: cache, stdio: 'pipe'})
  try {
    download()
  } catch {
    execFileSync('apt-get', ['update'], {stdio: 'pipe'})
    download()
  }
  for (const deb of readdirSync(cache).filter((f) => f.endsWith('.deb'))) {
    execFileSync('dpkg', ['-x', join(cache, deb), extractRoot], {stdio: 'pipe'})
  }
  rmSync(cache, {recursive: true, force: true})
  if (!hasAll(extractRoot)) throw new Error(`reference protos missing after extracting ${DEBS.join(', ')} into ${extractRoot}`)
  return join(extractRoot, GOCODE)
}

const tempDirs: string[] = []
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/** Removes the temp dirs made by prepareReferenceModule and copyTree. */
export function cleanupTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, {recursive: true, force: true})
}

/** Removes gogoproto and containerd fieldpath imports/options (they do not affect the wire format). */
export function stripGoOptions(src: string): string {
  return src
    .replace(/^\s*import\s+(weak\s+)?"(gogoproto\/gogo\.proto|github\.com\/containerd\/containerd\/protobuf\/plugin\/fieldpath\.proto)";\s*$/gm, '')
    .replace(/^\s*option\s+\((gogoproto|containerd\.plugin)\.[\w.]+\)\s*=\s*[^;]*;\s*$/gm, '')
    .replace(/\s*\[\s*\((gogoproto|containerd\.plugin)\.[^\]]*\]/g, '')
}

/** Copies the reference files (options stripped) into a temp module and returns its path. */
export function prepareReferenceModule(gocodeSrc: string): string {
  const dir = tempDir('ctr-ref-protos-')
  for (const rel of REFERENCE_FILES) {
    const out = join(dir, rel)
    mkdirSync(dirname(out), {recursive: true})
    const text = stripGoOptions(readFileSync(join(gocodeSrc, rel), 'utf8'))
    if (/gogoproto|containerd\.plugin/.test(text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, ''))) {
      throw new Error(`could not strip every Go option from ${rel}`)
    }
    writeFileSync(out, text)
  }
  return dir
}

/** Copies a proto tree so a test can alter it. */
export function copyTree(src: string): string {
  const dir = tempDir('ctr-proto-copy-')
  cpSync(src, dir, {recursive: true})
  return dir
}

/** `buf build` a directory (module root, no buf.yaml needed) into a decoded FileDescriptorSet. */
export function buildDescriptorSet(moduleDir: string): FileDescriptorSet {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-fds-'))
  try {
    const out = join(dir, 'set.binpb')
    try {
      execFileSync(BUF, ['build', moduleDir, '--as-file-descriptor-set', '--exclude-source-info', '-o', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (error) {
      throw new Error(`buf build ${moduleDir} failed:\n${(error as {stderr?: Buffer}).stderr ?? error}`)
    }
    return fromBinary(FileDescriptorSetSchema, readFileSync(out))
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

// ---------------------------------------------------------------------------------------------------------
// Indexing and comparison

interface Index {
  messages: Map<string, {msg: DescriptorProto; file: string}>
  enums: Map<string, {en: EnumDescriptorProto; file: string}>
  services: Map<string, {svc: ServiceDescriptorProto; file: string}>
  /** files by name (only files that are not google/protobuf well-known types) */
  files: string[]
}

const isWkt = (name: string) => name.startsWith('google/protobuf/')

export function indexSet(set: FileDescriptorSet): Index {
  const idx: Index = {messages: new Map(), enums: new Map(), services: new Map(), files: []}
  for (const file of set.file) {
    const fname = file.name ?? ''
    if (isWkt(fname)) continue
    idx.files.push(fname)
    const pkg = file.package ? `${file.package}.` : ''
    const addEnum = (prefix: string, en: EnumDescriptorProto) => idx.enums.set(prefix + (en.name ?? ''), {en, file: fname})
    const addMsg = (prefix: string, msg: DescriptorProto) => {
      const full = prefix + (msg.name ?? '')
      idx.messages.set(full, {msg, file: fname})
      for (const n of msg.nestedType) addMsg(`${full}.`, n)
      for (const e of msg.enumType) addEnum(`${full}.`, e)
    }
    for (const m of file.messageType) addMsg(pkg, m)
    for (const e of file.enumType) addEnum(pkg, e)
    for (const s of file.service) idx.services.set(pkg + (s.name ?? ''), {svc: s, file: fname})
  }
  return idx
}

const typeName = (t: FieldDescriptorProto_Type | undefined) => (t === undefined ? '?' : FieldDescriptorProto_Type[t])
const labelName = (l: FieldDescriptorProto_Label | undefined) => (l === undefined ? '?' : FieldDescriptorProto_Label[l])

/** A readable one-line description of a field's wire-relevant shape. */
export function describeField(f: FieldDescriptorProto, owner: DescriptorProto): string {
  const parts = [
    `${f.name} = ${f.number}`,
    labelName(f.label),
    typeName(f.type),
  ]
  if (f.typeName) parts.push(f.typeName.replace(/^\./, ''))
  // proto2-syntax fields (descriptor.proto) read their default from the prototype when unset: ask isFieldSet.
  if (f.proto3Optional) parts.push('proto3_optional')
  else if (isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex)) parts.push(`oneof ${owner.oneofDecl[f.oneofIndex!]?.name}`)
  return parts.join(' ')
}

/**
 * Returns every difference between `ours` and `ref`, scoped to what we declare: each of our messages, enums
 * and services must exist in the reference under the same full name and match it exactly (every field of
 * the reference message present with the same name/number/label/type/type name; no extra fields; same
 * enum values; same RPCs with the same types and streaming).
 */
export function compareSets(ours: FileDescriptorSet, ref: FileDescriptorSet): string[] {
  const o = indexSet(ours)
  const r = indexSet(ref)
  const problems: string[] = []

  for (const [name, {msg, file}] of o.messages) {
    const rm = r.messages.get(name)?.msg
    if (!rm) {
      problems.push(`message ${name} (${file}): not in the reference`)
      continue
    }
    if (!!msg.options?.mapEntry !== !!rm.options?.mapEntry) problems.push(`message ${name}: map_entry differs`)
    const rFields = new Map(rm.field.map((f) => [f.number, f]))
    const oFields = new Map(msg.field.map((f) => [f.number, f]))
    for (const f of msg.field) {
      const rf = rFields.get(f.number)
      if (!rf) {
        problems.push(`message ${name}: field ${describeField(f, msg)} not in the reference`)
        continue
      }
      const ours1 = describeField(f, msg)
      const theirs = describeField(rf, rm)
      if (ours1 !== theirs) problems.push(`message ${name}: field #${f.number}: ours "${ours1}" != reference "${theirs}"`)
    }
    for (const rf of rm.field) {
      if (!oFields.has(rf.number)) problems.push(`message ${name}: missing reference field ${describeField(rf, rm)}`)
    }
  }

  for (const [name, {en, file}] of o.enums) {
    const re = r.enums.get(name)?.en
    if (!re) {
      problems.push(`enum ${name} (${file}): not in the reference`)
      continue
    }
    const fmt = (e: EnumDescriptorProto) => e.value.map((v) => `${v.name}=${v.number}`).sort()
    const a = fmt(en)
    const b = fmt(re)
    for (const v of a) if (!b.includes(v)) problems.push(`enum ${name}: value ${v} not in the reference`)
    for (const v of b) if (!a.includes(v)) problems.push(`enum ${name}: missing reference value ${v}`)
  }

  for (const [name, {svc, file}] of o.services) {
    const rs = r.services.get(name)?.svc
    if (!rs) {
      problems.push(`service ${name} (${file}): not in the reference`)
      continue
    }
    const fmt = (m: ServiceDescriptorProto['method'][number]) =>
      `${m.name}(${m.clientStreaming ? 'stream ' : ''}${m.inputType?.replace(/^\./, '')}) returns (${
        m.serverStreaming ? 'stream ' : ''
      }${m.outputType?.replace(/^\./, '')})`
    const rMethods = new Map(rs.method.map((m) => [m.name, m]))
    const oMethods = new Map(svc.method.map((m) => [m.name, m]))
    for (const m of svc.method) {
      const rmth = rMethods.get(m.name)
      if (!rmth) problems.push(`service ${name}: rpc ${fmt(m)} not in the reference`)
      else if (fmt(m) !== fmt(rmth)) problems.push(`service ${name}: ours "rpc ${fmt(m)}" != reference "rpc ${fmt(rmth)}"`)
    }
    for (const m of rs.method) if (!oMethods.has(m.name)) problems.push(`service ${name}: missing reference rpc ${fmt(m)}`)
  }
  return problems
}
