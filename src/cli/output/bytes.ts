/**
 * Byte counts for people: the one formatter (go-units' CustomSize: divide by the base while the value is at
 * least one base), in the two renderings ctr's peers use. The library returns numbers; only output formats.
 */

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']
const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']

/**
 * - `size`: Go ctr's (images SIZE, pull/push/import): `%.1f`, a space, binary units: `1.1 MiB`.
 * - `binary` / `decimal`: docker stats' four significant digits, no space: memory `1.984MiB`, I/O `1.536kB`.
 */
export type ByteStyle = 'size' | 'binary' | 'decimal'

export function formatBytes(bytes: number, style: ByteStyle = 'size'): string {
  const base = style === 'decimal' ? 1000 : 1024
  const units = style === 'decimal' ? DECIMAL : BINARY
  let value = bytes
  let i = 0
  while (Math.abs(value) >= base && i < units.length - 1) {
    value /= base
    i++
  }
  return style === 'size' ? `${value.toFixed(1)} ${units[i]}` : `${Number(value.toPrecision(4))}${units[i]}`
}

/** Go ctr's SIZE (`formatBytes(n, 'size')`), under the name the library has exported. */
export function formatSize(bytes: number): string {
  return formatBytes(bytes, 'size')
}

export function formatPercent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '--' : `${value.toFixed(2)}%`
}
