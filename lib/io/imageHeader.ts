/** The most pixels sag decodes from one image file (a 8192x8192 image); larger declarations are refused unread. */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

/**
 * Width and height as a PNG's IHDR or a JPEG's frame header declares them, read without decoding; null when the
 * bytes are neither (or too short to say).
 */
export function declaredImageSize(bytes: Uint8Array): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return { width: view.getUint32(16), height: view.getUint32(20) };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let at = 2;
    while (at + 9 < bytes.length) {
      if (bytes[at] !== 0xff) return null;
      const marker = bytes[at + 1];
      if (marker === 0xff) {
        at++; // fill byte
        continue;
      }
      const length = view.getUint16(at + 2);
      // Start-of-frame markers (baseline, progressive, ...), not DHT (c4), JPG (c8) or DAC (cc).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
      at += 2 + length;
    }
  }
  return null;
}

/**
 * The most pixels per byte of file a real PNG or JPEG holds: deflate packs at most ~1000:1 and a JPEG block of one
 * colour takes a few bits, so even an image of one colour stays far below this. A file declaring more is a
 * decompression bomb or corrupt, and decoding it would take long for nothing.
 */
export const MAX_PIXELS_PER_BYTE = 4096;

/** Why an image that declares `size` in a file of `fileBytes` is not decoded, or null. */
export function oversizedImage(size: { width: number; height: number }, fileBytes = Infinity): string | null {
  const pixels = size.width * size.height;
  if (pixels > MAX_IMAGE_PIXELS)
    return `declares ${size.width}x${size.height} pixels, more than sag decodes (${MAX_IMAGE_PIXELS / 2 ** 20} megapixels)`;
  if (pixels > MAX_PIXELS_PER_BYTE * fileBytes)
    return `declares ${size.width}x${size.height} pixels in ${fileBytes} bytes: corrupt or a decompression bomb, not decoded`;
  return null;
}
