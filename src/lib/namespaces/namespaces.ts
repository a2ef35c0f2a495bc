/**
 * containerd namespaces: list, create, delete. Facts checked against 1.6.20:
 * - Namespaces.List/Create/Delete ignore the `containerd-namespace` header the client sends.
 * - Delete refuses a namespace that still holds anything with FAILED_PRECONDITION and a message that names
 *   what is left: `namespace "x" must be empty, but it still has containers, images: failed precondition`
 *   (1.6-2.x metadata/namespaces.go; kinds: images, blobs, snapshots, containers, leases, sandboxes). That
 *   text is containerd's own and is kept; only the trailing gRPC code name goes.
 * - Names follow containerd's identifier rule; the daemon rejects others (INVALID_ARGUMENT), and its text
 *   says why.
 */
import {NamespacesDefinition} from '../../gen/containerd/services/namespaces/v1/namespace'
import type {ContainerdClient} from '../containerd/client'
import {CtrError, optionError} from '../containerd/errors'

export interface NamespaceInfo {
  name: string
  labels: Record<string, string>
}

/** Every namespace with its labels, sorted by name. */
export async function listNamespaces(client: ContainerdClient): Promise<NamespaceInfo[]> {
  const {namespaces} = await client.service(NamespacesDefinition).list({filter: ''})
  return namespaces.map(({name, labels}) => ({name, labels})).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** `KEY=VALUE` texts (a bare `KEY` is an empty value) → labels. */
export function parseLabels(texts: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const text of texts) {
    const eq = text.indexOf('=')
    const key = eq < 0 ? text : text.slice(0, eq)
    if (!key) throw optionError('usage', (o) => `invalid ${o('label')} "${text}": use KEY=VALUE`)
    labels[key] = eq < 0 ? '' : text.slice(eq + 1)
  }
  return labels
}

export async function createNamespace(client: ContainerdClient, name: string, labels: Record<string, string> = {}): Promise<NamespaceInfo> {
  const {namespace} = await client
    .service(NamespacesDefinition)
    .create({namespace: {name, labels}})
    .catch((error) => {
      throw tidy(error, name, 'create')
    })
  return {name: namespace?.name ?? name, labels: namespace?.labels ?? labels}
}

export async function deleteNamespace(client: ContainerdClient, name: string): Promise<{name: string}> {
  await client
    .service(NamespacesDefinition)
    .delete({name})
    .catch((error) => {
      throw tidy(error, name, 'delete')
    })
  return {name}
}

/** One line naming the namespace; containerd's reason kept, its trailing gRPC code name dropped. */
function tidy(error: unknown, name: string, verb: 'create' | 'delete'): unknown {
  if (!(error instanceof CtrError)) return error
  if (error.kind === 'not-found') return new CtrError('not-found', `namespace "${name}" not found`, {cause: error})
  if (error.kind === 'already-exists') return new CtrError('already-exists', `namespace "${name}" already exists`, {cause: error})
  if (error.kind !== 'failed-precondition' && error.kind !== 'invalid-argument') return error
  const reason = error.message.replace(/: (failed precondition|invalid argument)$/, '')
  const text = reason.includes(`namespace "${name}"`) ? reason : `cannot ${verb} namespace "${name}": ${reason}`
  return new CtrError(error.kind, text, {cause: error, exitCode: error.exitCode})
}
