/**
 * Replaces `object[name]` with `replacement` (which receives the original, bound to `object`) until the returned
 * function is called; then the object is exactly as it was (an inherited method is inherited again).
 */
export function patchMethod<T extends object, K extends keyof T>(
  object: T,
  name: K,
  replacement: (original: T[K]) => T[K],
): () => void {
  const record = object as unknown as Record<PropertyKey, unknown>;
  const hadOwn = Object.prototype.hasOwnProperty.call(object, name);
  const own = record[name as PropertyKey];
  const original = (own as (...args: unknown[]) => unknown).bind(object) as T[K];
  record[name as PropertyKey] = replacement(original);
  return () => {
    if (hadOwn) record[name as PropertyKey] = own;
    else delete record[name as PropertyKey];
  };
}
