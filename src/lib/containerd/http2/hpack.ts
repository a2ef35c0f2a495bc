/**
 * HPACK (RFC 7541), the header compression of HTTP/2. The decoder is complete, because servers use all of it:
 * Go's and nghttp2's encoders index fields in the dynamic table and Huffman-code strings. The encoder is
 * deliberately minimal: static-table indices and literals "without indexing", never Huffman. That output is
 * valid whatever HEADER_TABLE_SIZE the server announces (our encoder never touches its dynamic table), and a
 * request's few short fields gain nothing worth the code.
 */
import {ErrorCode, Http2ProtocolError} from './frames'

export type HeaderField = [name: string, value: string]

/** RFC 7541 Appendix A; index 1 is STATIC_TABLE[0]. */
export const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
]

/**
 * The Huffman code of RFC 7541 Appendix B: for each octet, then EOS (256), its code (right-aligned) and the
 * code's length in bits. It is a canonical code, which the tests check, so a mistyped entry cannot pass.
 */
export const HUFFMAN_CODES: readonly number[] = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff,
]
export const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
]
const EOS = 256

/** The per-entry overhead of RFC 7541 §4.1. */
const ENTRY_OVERHEAD = 32

function compressionError(message: string): Http2ProtocolError {
  return new Http2ProtocolError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${message}`)
}

/**
 * A binary tree over the code, built on first use: node n's children are at 2n (bit 0) and 2n+1 (bit 1);
 * a positive entry is the next node, a negative one a symbol (-1 - symbol), 0 a missing branch.
 */
let huffmanTree: Int32Array | undefined

function buildHuffmanTree(): Int32Array {
  const tree = new Int32Array(2 * 512)
  let nodes = 1
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]
    const length = HUFFMAN_LENGTHS[symbol]
    let node = 0
    for (let bit = length - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1)
      if (tree[slot] === 0) tree[slot] = nodes++
      node = tree[slot]
    }
    tree[2 * node + (code & 1)] = -1 - symbol
  }
  return tree
}

/** Decodes a Huffman-coded string (§5.2): padding must be under 8 bits and all ones, and EOS never appears. */
export function huffmanDecode(input: Uint8Array): Buffer {
  const tree = (huffmanTree ??= buildHuffmanTree())
  // Every symbol takes at least 5 bits, which bounds the output.
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5))
  let length = 0
  let node = 0
  let pendingBits = 0
  let pendingAllOnes = true
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1
      const next = tree[2 * node + b]
      pendingBits++
      pendingAllOnes &&= b === 1
      if (next < 0) {
        const symbol = -1 - next
        if (symbol === EOS) throw compressionError('EOS in a Huffman-coded string')
        out[length++] = symbol
        node = 0
        pendingBits = 0
        pendingAllOnes = true
      } else if (next === 0) {
        throw compressionError('invalid Huffman code')
      } else {
        node = next
      }
    }
  }
  if (pendingBits > 7) throw compressionError('Huffman padding longer than 7 bits')
  if (!pendingAllOnes) throw compressionError('Huffman padding is not a prefix of EOS')
  return out.subarray(0, length)
}

/** Decodes the header blocks of one connection; they must be fed in the order they arrive. */
export class HpackDecoder {
  /** Newest entry first, as HPACK numbers them. */
  private readonly table: HeaderField[] = []
  private size = 0
  private maxSize: number

  /** `limit` is the SETTINGS_HEADER_TABLE_SIZE we announced (4096 unless we said otherwise). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit
  }

  /** The dynamic table, newest entry first, and its size in HPACK's accounting (for tests). */
  get dynamicTable(): {entries: readonly HeaderField[]; size: number; maxSize: number} {
    return {entries: this.table, size: this.size, maxSize: this.maxSize}
  }

  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = []
    const reader: Reader = {block, pos: 0}
    while (reader.pos < block.length) {
      const b = block[reader.pos]
      if (b & 0x80) {
        // Indexed field (§6.1).
        fields.push(this.lookup(readInteger(reader, 7)))
      } else if (b & 0x40) {
        // Literal with incremental indexing (§6.2.1).
        const field = this.readLiteral(reader, 6)
        this.add(field)
        fields.push(field)
      } else if (b & 0x20) {
        // Dynamic table size update (§6.3): only before the block's first field, never above our limit.
        if (fields.length > 0) throw compressionError('table size update after a header field')
        const size = readInteger(reader, 5)
        if (size > this.limit) throw compressionError(`table size update to ${size}, above the limit of ${this.limit}`)
        this.maxSize = size
        this.evict(0)
      } else {
        // Literal without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3).
        fields.push(this.readLiteral(reader, 4))
      }
    }
    return fields
  }

  private readLiteral(reader: Reader, prefixBits: number): HeaderField {
    const index = readInteger(reader, prefixBits)
    const name = index === 0 ? readString(reader) : this.lookup(index)[0]
    return [name, readString(reader)]
  }

  private lookup(index: number): HeaderField {
    if (index === 0) throw compressionError('index 0')
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]
    const entry = this.table[index - STATIC_TABLE.length - 1]
    if (!entry) throw compressionError(`index ${index} beyond the dynamic table`)
    return entry
  }

  private add(field: HeaderField): void {
    // Strings are latin1, one char per octet, so .length is the octet count §4.1 counts.
    const entrySize = field[0].length + field[1].length + ENTRY_OVERHEAD
    // An entry larger than the whole table empties it and is not added (§4.4).
    this.evict(entrySize)
    if (entrySize <= this.maxSize) {
      this.table.unshift(field)
      this.size += entrySize
    }
  }

  /** Evicts the oldest entries until `room` more octets fit (§4.4). */
  private evict(room: number): void {
    while (this.table.length > 0 && this.size + room > this.maxSize) {
      const [name, value] = this.table.pop()!
      this.size -= name.length + value.length + ENTRY_OVERHEAD
    }
  }
}

interface Reader {
  block: Uint8Array
  pos: number
}

/** An integer with an N-bit prefix (§5.1); above 2^31 is refused, nothing legitimate needs that. */
function readInteger(reader: Reader, prefixBits: number): number {
  const {block} = reader
  if (reader.pos >= block.length) throw compressionError('truncated integer')
  const mask = (1 << prefixBits) - 1
  let value = block[reader.pos++] & mask
  if (value < mask) return value
  let shift = 0
  for (;;) {
    if (reader.pos >= block.length) throw compressionError('truncated integer')
    const b = block[reader.pos++]
    value += (b & 0x7f) * 2 ** shift
    shift += 7
    if (value > 2 ** 31) throw compressionError('integer too large')
    if ((b & 0x80) === 0) return value
  }
}

/** A string literal (§5.2), Huffman-coded or raw; its octets become a latin1 string, as Node's http2 gave them. */
function readString(reader: Reader): string {
  if (reader.pos >= reader.block.length) throw compressionError('truncated string')
  const huffman = (reader.block[reader.pos] & 0x80) !== 0
  const length = readInteger(reader, 7)
  if (reader.pos + length > reader.block.length) throw compressionError('string longer than the header block')
  const raw = reader.block.subarray(reader.pos, reader.pos + length)
  reader.pos += length
  return Buffer.from(huffman ? huffmanDecode(raw) : raw).toString('latin1')
}

const staticExact = new Map<string, number>()
const staticName = new Map<string, number>()
STATIC_TABLE.forEach(([name, value], i) => {
  staticExact.set(`${name}\0${value}`, i + 1)
  if (!staticName.has(name)) staticName.set(name, i + 1)
})

/**
 * Encodes a request's header list: a static-table index where name and value both match (`:method POST`),
 * else a literal without indexing, naming the field by its static index when it has one. Stateless.
 */
export function encodeHeaderBlock(fields: readonly HeaderField[]): Buffer {
  const out: number[] = []
  for (const [name, value] of fields) {
    const exact = staticExact.get(`${name}\0${value}`)
    if (exact !== undefined) {
      writeInteger(out, 0x80, 7, exact)
      continue
    }
    const nameIndex = staticName.get(name) ?? 0
    writeInteger(out, 0x00, 4, nameIndex)
    if (nameIndex === 0) writeString(out, name)
    writeString(out, value)
  }
  return Buffer.from(out)
}

function writeInteger(out: number[], firstByteBits: number, prefixBits: number, value: number): void {
  const mask = (1 << prefixBits) - 1
  if (value < mask) {
    out.push(firstByteBits | value)
    return
  }
  out.push(firstByteBits | mask)
  value -= mask
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80)
    value = Math.floor(value / 0x80)
  }
  out.push(value)
}

function writeString(out: number[], text: string): void {
  const octets = Buffer.from(text, 'utf8')
  writeInteger(out, 0x00, 7, octets.length)
  for (const octet of octets) out.push(octet)
}
