/**
 * HPACK against the examples of RFC 7541 Appendix C (decoded with one decoder per sequence, so the dynamic
 * table carries over between blocks as on a connection), the Huffman table's own consistency, and the
 * encoder's output read back by the decoder.
 */
import {describe, expect, it} from 'vitest'

import {Http2ProtocolError} from '../../../../src/lib/containerd/http2/frames'
import {
  encodeHeaderBlock,
  HeaderField,
  HpackDecoder,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
} from '../../../../src/lib/containerd/http2/hpack'

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')

interface Step {
  wire: string
  fields: HeaderField[]
  /** The dynamic table after the block, newest first. */
  table: HeaderField[]
  size: number
}

function runSequence(steps: Step[], decoder = new HpackDecoder()): void {
  for (const step of steps) {
    expect(decoder.decode(hex(step.wire))).toEqual(step.fields)
    expect(decoder.dynamicTable.entries).toEqual(step.table)
    expect(decoder.dynamicTable.size).toBe(step.size)
  }
}

const request1: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
]
const request2: HeaderField[] = [...request1, ['cache-control', 'no-cache']]
const request3: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
]
const requestTables = {
  t1: [[':authority', 'www.example.com']] as HeaderField[],
  t2: [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ] as HeaderField[],
  t3: [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ] as HeaderField[],
}

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT'
const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT'
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'
const response1: HeaderField[] = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', date1],
  ['location', 'https://www.example.com'],
]
const response2: HeaderField[] = [[':status', '307'], ...response1.slice(1)]
const response3: HeaderField[] = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', date2],
  ['location', 'https://www.example.com'],
  ['content-encoding', 'gzip'],
  ['set-cookie', cookie],
]
const responseTables = {
  t1: [
    ['location', 'https://www.example.com'],
    ['date', date1],
    ['cache-control', 'private'],
    [':status', '302'],
  ] as HeaderField[],
  // :status 302 evicted to make room for :status 307 (256-byte table).
  t2: [
    [':status', '307'],
    ['location', 'https://www.example.com'],
    ['date', date1],
    ['cache-control', 'private'],
  ] as HeaderField[],
  t3: [
    ['set-cookie', cookie],
    ['content-encoding', 'gzip'],
    ['date', date2],
  ] as HeaderField[],
}

/** A decoder whose table the peer has shrunk to 256 bytes, as in C.5 and C.6 (size update 0x3f e1 01). */
function decoder256(): HpackDecoder {
  const decoder = new HpackDecoder()
  decoder.decode(hex('3fe101'))
  expect(decoder.dynamicTable.maxSize).toBe(256)
  return decoder
}

describe('RFC 7541 Appendix C', () => {
  it('C.2.1 literal with indexing', () => {
    runSequence([
      {
        wire: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
        fields: [['custom-key', 'custom-header']],
        table: [['custom-key', 'custom-header']],
        size: 55,
      },
    ])
  })

  it('C.2.2 literal without indexing, C.2.3 never indexed, C.2.4 indexed: the table stays empty', () => {
    runSequence([
      {wire: '040c 2f73 616d 706c 652f 7061 7468', fields: [[':path', '/sample/path']], table: [], size: 0},
      {wire: '1008 7061 7373 776f 7264 0673 6563 7265 74', fields: [['password', 'secret']], table: [], size: 0},
      {wire: '82', fields: [[':method', 'GET']], table: [], size: 0},
    ])
  })

  it('C.3 requests without Huffman coding', () => {
    runSequence([
      {wire: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', fields: request1, table: requestTables.t1, size: 57},
      {wire: '8286 84be 5808 6e6f 2d63 6163 6865', fields: request2, table: requestTables.t2, size: 110},
      {
        wire: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        fields: request3,
        table: requestTables.t3,
        size: 164,
      },
    ])
  })

  it('C.4 requests with Huffman coding', () => {
    runSequence([
      {wire: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', fields: request1, table: requestTables.t1, size: 57},
      {wire: '8286 84be 5886 a8eb 1064 9cbf', fields: request2, table: requestTables.t2, size: 110},
      {
        wire: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
        fields: request3,
        table: requestTables.t3,
        size: 164,
      },
    ])
  })

  it('C.5 responses without Huffman coding, with eviction from a 256-byte table', () => {
    runSequence(
      [
        {
          wire: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32
                 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
          fields: response1,
          table: responseTables.t1,
          size: 222,
        },
        {wire: '4803 3330 37c1 c0bf', fields: response2, table: responseTables.t2, size: 222},
        {
          wire: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970
                 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61
                 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
          fields: response3,
          table: responseTables.t3,
          size: 215,
        },
      ],
      decoder256(),
    )
  })

  it('C.6 responses with Huffman coding, with eviction from a 256-byte table', () => {
    runSequence(
      [
        {
          wire: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad
                 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
          fields: response1,
          table: responseTables.t1,
          size: 222,
        },
        {wire: '4883 640e ffc1 c0bf', fields: response2, table: responseTables.t2, size: 222},
        {
          wire: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2
                 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
          fields: response3,
          table: responseTables.t3,
          size: 215,
        },
      ],
      decoder256(),
    )
  })
})

describe('HPACK decoder limits and errors', () => {
  const compressionError = (fn: () => unknown) => {
    expect(fn).toThrow(Http2ProtocolError)
    try {
      fn()
    } catch (error) {
      expect((error as Http2ProtocolError).errorCode).toBe(0x9) // COMPRESSION_ERROR
    }
  }

  it('refuses a table size update above the announced limit, or after a field', () => {
    compressionError(() => new HpackDecoder(4096).decode(hex('3fe21f'))) // 4097
    compressionError(() => new HpackDecoder().decode(hex('82 3fe101')))
  })

  it('a size update to 0 empties the table, and an entry larger than the table empties it too', () => {
    const decoder = new HpackDecoder()
    decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))
    expect(decoder.dynamicTable.size).toBe(55)
    decoder.decode(hex('20'))
    expect(decoder.dynamicTable).toEqual({entries: [], size: 0, maxSize: 0})
    // Back to 60 bytes, then a 55-byte entry fits, a 64-byte one clears the table and is not added.
    decoder.decode(hex('3f1d 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))
    expect(decoder.dynamicTable.size).toBe(55)
    const fields = decoder.decode(Buffer.concat([hex('400a'), Buffer.from('custom-key'), hex('16'), Buffer.from('x'.repeat(22))]))
    expect(fields).toEqual([['custom-key', 'x'.repeat(22)]])
    expect(decoder.dynamicTable.entries).toEqual([])
  })

  it('refuses index 0, an index beyond the table, truncated input and oversized integers', () => {
    compressionError(() => new HpackDecoder().decode(hex('80')))
    compressionError(() => new HpackDecoder().decode(hex('be'))) // 62, table empty
    compressionError(() => new HpackDecoder().decode(hex('400a 6375')))
    compressionError(() => new HpackDecoder().decode(hex('ff')))
    compressionError(() => new HpackDecoder().decode(hex('ff ffff ffff 0f')))
  })

  it('decodes multi-byte integers (RFC 7541 C.1.2: 1337 with a 5-bit prefix)', () => {
    // A size update carries a 5-bit-prefix integer: 0x20|31, then 1306 in 7-bit groups (0x9a 0x0a).
    const decoder = new HpackDecoder()
    decoder.decode(hex('3f9a0a'))
    expect(decoder.dynamicTable.maxSize).toBe(1337)
  })
})

describe('Huffman code', () => {
  it('is the canonical code of RFC 7541 Appendix B: complete, and each code follows from the lengths', () => {
    expect(HUFFMAN_CODES).toHaveLength(257)
    expect(HUFFMAN_LENGTHS).toHaveLength(257)
    // Kraft sum exactly 1 (in units of 2^-30, the longest code).
    expect(HUFFMAN_LENGTHS.reduce((sum, length) => sum + 2 ** (30 - length), 0)).toBe(2 ** 30)
    const order = [...HUFFMAN_LENGTHS.keys()].sort((a, b) => HUFFMAN_LENGTHS[a] - HUFFMAN_LENGTHS[b] || a - b)
    let code = 0
    order.forEach((symbol, i) => {
      if (i > 0) code = (code + 1) * 2 ** (HUFFMAN_LENGTHS[symbol] - HUFFMAN_LENGTHS[order[i - 1]])
      expect([symbol, HUFFMAN_CODES[symbol]]).toEqual([symbol, code])
    })
    // Spot checks against the RFC's table.
    expect([HUFFMAN_CODES[48], HUFFMAN_LENGTHS[48]]).toEqual([0x0, 5]) // '0'
    expect([HUFFMAN_CODES[0x7e], HUFFMAN_LENGTHS[0x7e]]).toEqual([0x1ffd, 13]) // '~'
    expect([HUFFMAN_CODES[256], HUFFMAN_LENGTHS[256]]).toEqual([0x3fffffff, 30]) // EOS
  })

  it('decodes every octet', () => {
    // Encode all 256 octets with the table, pad with ones, and decode.
    const symbols = [...Array(256).keys()]
    let bits = ''
    for (const s of symbols) bits += HUFFMAN_CODES[s].toString(2).padStart(HUFFMAN_LENGTHS[s], '0')
    bits += '1'.repeat((8 - (bits.length % 8)) % 8)
    const bytes = Buffer.from(bits.match(/.{8}/g)!.map((b) => Number.parseInt(b, 2)))
    expect([...huffmanDecode(bytes)]).toEqual(symbols)
  })

  it('refuses padding of 8 bits or more, padding that is not all ones, and EOS', () => {
    expect(() => huffmanDecode(hex('ff'))).toThrow(/padding/) // 8 one-bits: longer than 7
    expect(() => huffmanDecode(hex('1e'))).toThrow(/padding/) // 'a' (00011) then 110: not all ones
    expect(() => huffmanDecode(hex('ffff fffc'))).toThrow(/EOS/) // EOS (30 ones) + 00
    expect(huffmanDecode(hex('07')).toString()).toBe('0') // '0' + 111: valid padding
  })
})

describe('encoder', () => {
  it('writes static indices and literals without indexing, which the decoder reads back, table untouched', () => {
    const fields: HeaderField[] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/containerd.services.version.v1.Version/Version'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['containerd-namespace', 'default'],
      ['grpc-timeout', '10000m'],
      ['x-long', 'v'.repeat(300)],
    ]
    const block = encodeHeaderBlock(fields)
    expect(block[0]).toBe(0x83) // :method POST, static index 3
    expect(block[1]).toBe(0x86) // :scheme http, static index 6
    expect(block[2]).toBe(0x04) // :path, literal without indexing, name index 4
    const decoder = new HpackDecoder()
    expect(decoder.decode(block)).toEqual(fields)
    expect(decoder.dynamicTable.size).toBe(0)
  })
})
