import { declaredImageSize, oversizedImage } from '../io/imageHeader';
import { ApiError } from './apiError';

/** The largest side of an image a request may send (sag resizes to the generation size anyway). */
export const MAX_REQUEST_IMAGE_SIDE = 4096;

/**
 * The bytes of a base64 image a request sent (A1111 accepts bare base64 and `data:image/...;base64,` URIs; URLs are
 * not fetched). Refused with 422 when it is not base64, not a PNG or JPEG, or declares more than
 * MAX_REQUEST_IMAGE_SIDE pixels on a side (read from its header, before any decoding).
 */
export function requestImageBytes(field: string, value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0)
    throw new ApiError(422, `${field}: expected a base64-encoded PNG or JPEG image`);
  if (/^https?:\/\//i.test(value))
    throw new ApiError(422, `${field}: image URLs are not fetched; send the image as base64`);
  const text = value.replace(/^data:image\/[a-z+.-]+;base64,/i, '');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw new ApiError(422, `${field}: not valid base64`);
  const bytes = Buffer.from(text, 'base64');
  const size = declaredImageSize(bytes);
  if (!size) throw new ApiError(422, `${field}: not a PNG or JPEG image`);
  const refusal = oversizedImage(size, bytes.length);
  if (refusal || size.width > MAX_REQUEST_IMAGE_SIDE || size.height > MAX_REQUEST_IMAGE_SIDE)
    throw new ApiError(
      422,
      `${field}: the image is ${size.width}x${size.height}; at most ${MAX_REQUEST_IMAGE_SIDE} pixels a side are accepted`,
    );
  return bytes;
}
