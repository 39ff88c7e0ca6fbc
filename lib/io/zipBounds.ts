import * as fs from 'fs';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
const ZIP64_EXTRA = 0x0001;
const MAX_COMMENT = 0xffff;

/**
 * Checks, before a zip library reads the archive, that every offset and size its directory records points inside
 * the file: the end records (and ZIP64's), the central directory, and each entry's local header and data. A zip
 * library seeks wherever these say; a corrupt value (up to 2^64) otherwise crashes the process in its read.
 * `read(offset, length)` gives bytes of the file. Throws an Error saying what is out of range.
 */
export function checkZipBounds(size: number, read: (offset: number, length: number) => Buffer): void {
  const tailStart = Math.max(0, size - 22 - MAX_COMMENT - 20);
  const tail = read(tailStart, size - tailStart);
  let eocd = -1;
  for (let at = tail.length - 22; at >= 0; at--)
    if (tail.readUInt32LE(at) === EOCD) {
      eocd = at;
      break;
    }
  if (eocd < 0) throw new Error('no zip end-of-central-directory record');
  let entries = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  const locator = eocd - 20;
  if (locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR) {
    const record = Number(tail.readBigUInt64LE(locator + 8));
    if (record + 56 > tailStart + locator)
      throw new Error(`the ZIP64 end record offset ${record} is outside the file`);
    const zip64 = read(record, 56);
    if (zip64.readUInt32LE(0) !== ZIP64_EOCD) throw new Error('the ZIP64 end record is missing');
    entries = Number(zip64.readBigUInt64LE(32));
    directorySize = Number(zip64.readBigUInt64LE(40));
    directoryOffset = Number(zip64.readBigUInt64LE(48));
  }
  if (directoryOffset + directorySize > size)
    throw new Error(
      `the central directory (offset ${directoryOffset}, ${directorySize} bytes) runs past the end of the file`,
    );
  if (entries > directorySize / 46)
    throw new Error(`the zip claims ${entries} entries in a directory of ${directorySize} bytes`);
  const bytes = read(directoryOffset, directorySize);
  let at = 0;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > bytes.length || bytes.readUInt32LE(at) !== CENTRAL_ENTRY)
      throw new Error(`central directory entry ${i} is missing or corrupt`);
    let compressed = bytes.readUInt32LE(at + 20);
    let local = bytes.readUInt32LE(at + 42);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    const uncompressedIsZip64 = bytes.readUInt32LE(at + 24) === 0xffffffff;
    let extra = at + 46 + nameLength;
    const extraEnd = Math.min(bytes.length, extra + extraLength);
    while (extra + 4 <= extraEnd) {
      const id = bytes.readUInt16LE(extra);
      const length = bytes.readUInt16LE(extra + 2);
      if (id === ZIP64_EXTRA) {
        let field = extra + 4;
        const take = () => {
          if (field + 8 > extraEnd) throw new Error(`central directory entry ${i} has a short ZIP64 field`);
          const value = Number(bytes.readBigUInt64LE(field));
          field += 8;
          return value;
        };
        if (uncompressedIsZip64) take();
        if (compressed === 0xffffffff) compressed = take();
        if (local === 0xffffffff) local = take();
      }
      extra += 4 + length;
    }
    if (local + 30 > size) throw new Error(`entry ${i}'s local header offset ${local} is outside the file`);
    if (local + 30 + compressed > size)
      throw new Error(`entry ${i}'s data (${compressed} bytes at ${local}) runs past the end of the file`);
    at += 46 + nameLength + extraLength + commentLength;
  }
}

/** checkZipBounds on a file, reading only its end records and central directory. */
export function checkZipFileBounds(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    checkZipBounds(size, (offset, length) => {
      const buffer = Buffer.alloc(length);
      const got = fs.readSync(fd, buffer, 0, length, offset);
      if (got !== length)
        throw new Error(`the file ends at ${offset + got} while the zip needs ${offset + length}`);
      return buffer;
    });
  } finally {
    fs.closeSync(fd);
  }
}
