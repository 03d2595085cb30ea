/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial 0xEDB88320, reflected), used to checksum
 * WAL records and snapshot files.
 *
 * Slicing-by-8 in plain TypeScript: WAL records are small (tens of bytes), so a call into
 * native code per record would cost more than the checksum itself.
 */

const POLYNOMIAL = 0xedb88320;
const SLICES = 8;
const TABLE_SIZE = 256;

/** TABLES[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(SLICES * TABLE_SIZE);
  for (let b = 0; b < TABLE_SIZE; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < TABLE_SIZE; b++) {
    let c = t[b];
    for (let s = 1; s < SLICES; s++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[s * TABLE_SIZE + b] = c;
    }
  }
  return t;
}

/**
 * Returns the CRC-32 of `bytes[start, end)` as an unsigned 32-bit integer. Pass a
 * previous result as `crc` to continue a checksum over several ranges.
 */
export function crc32(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  crc = 0,
): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
