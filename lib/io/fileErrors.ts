const READABLE: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  EXDEV: 'on another file system',
  EBUSY: 'busy',
};

/** A file-system error in a few words and its code (`permission denied, EACCES`), for one-line messages. */
export function fileErrorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code) return READABLE[e.code] ? `${READABLE[e.code]}, ${e.code}` : e.code;
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}
