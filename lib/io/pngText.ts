/**
 * PNG tEXt chunks (keyword + Latin-1 text), as Stable Diffusion tools store generation settings under the keyword
 * `parameters`. pngjs writes no text chunks, so they are spliced in after IHDR and read back by walking the chunks.
 */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let crcTable: Uint32Array | null = null;

/** CRC-32 as PNG defines it (ISO 3309, polynomial 0xedb88320) over the chunk type and data. */
function crc32(bytes: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A copy of `png` with a tEXt chunk `keyword` = `text` after its IHDR chunk. Non-Latin-1 characters become '?'. */
export function withPngText(png: Buffer, keyword: string, text: string): Buffer {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('withPngText: not a PNG');
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  const latin1 = text.replace(/[^\x20-\x7e\n\xa0-\xff]/g, '?');
  const data = Buffer.concat([
    Buffer.from(keyword, 'latin1'),
    Buffer.from([0]),
    Buffer.from(latin1, 'latin1'),
  ]);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('tEXt', data), png.subarray(ihdrEnd)]);
}

/** The tEXt chunks of a PNG as keyword -> text (empty for a PNG without them or for other files). */
export function readPngText(bytes: Buffer): Record<string, string> {
  const texts: Record<string, string> = {};
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) return texts;
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'tEXt') {
      const zero = data.indexOf(0);
      if (zero > 0) texts[data.toString('latin1', 0, zero)] = data.toString('latin1', zero + 1);
    }
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  return texts;
}

/**
 * The tEXt chunks of a file that must be a whole PNG: throws, naming `file`, when it is not a PNG or when a chunk
 * runs past its end or its IEND chunk is missing (a truncated download), so partial settings are never shown.
 */
export function readPngTextChecked(bytes: Buffer, file: string): Record<string, string> {
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error(`${file}: not a PNG`);
  let offset = 8;
  let ended = false;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    if (offset + 12 + length > bytes.length) break;
    if (bytes.toString('latin1', offset + 4, offset + 8) === 'IEND') {
      ended = true;
      break;
    }
    offset += 12 + length;
  }
  if (!ended) throw new Error(`${file}: the PNG is truncated (it ends before its last chunk)`);
  return readPngText(bytes);
}
