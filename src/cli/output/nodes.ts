/**
 * Rows from several nodes (`-a` given more than once): each row gets its node, shown first as NODE and kept as
 * `node` in JSON. With one address nothing changes: no column, no field.
 */
import type {Column} from './table'

export type OnNode<T> = T & {node: string}

/** The NODE column, then the command's own. */
export function withNodeColumn<T>(columns: readonly Column<T>[]): Column<OnNode<T>>[] {
  return [{header: 'NODE', value: (row) => row.node}, ...(columns as readonly Column<OnNode<T>>[])]
}

/** Each node's rows, with its name, in the order the nodes were given. */
export function rowsOnNodes<T extends object>(answers: ReadonlyArray<{node: string; result: readonly T[]}>): OnNode<T>[] {
  return answers.flatMap(({node, result}) => result.map((row) => ({node, ...row})))
}
