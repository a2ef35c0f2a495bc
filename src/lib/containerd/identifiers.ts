/**
 * containerd's identifier rule (pkg/identifiers.Validate), which container IDs, exec IDs and namespaces all
 * follow: letters and digits, in runs joined by single '.', '_' or '-', at most 76 characters. Checked on
 * the client so a bad ID is a usage error before anything is created.
 */
const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/
export const MAX_IDENTIFIER_LENGTH = 76

export function isIdentifier(value: string): boolean {
  return value.length <= MAX_IDENTIFIER_LENGTH && IDENTIFIER.test(value)
}
