import * as fs from 'fs';

/** Reads exactly `length` bytes at `position`; a short file throws `truncatedMessage`. */
export function readFully(fd: number, position: number, length: number, truncatedMessage: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n <= 0) throw new Error(truncatedMessage);
    done += n;
  }
  return buf;
}
