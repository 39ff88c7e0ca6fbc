import { writeDirectoryAtomically } from '../lib/io/outputDirectory';

/**
 * A converter's output folder, written all or nothing (see writeDirectoryAtomically): an existing folder is
 * replaced only with `overwrite` and only when sag wrote it and it holds nothing else.
 */
export function writeAtomically<T>(
  outDir: string,
  overwrite: boolean,
  write: (tmpDir: string) => Promise<T> | T,
): Promise<T> {
  return writeDirectoryAtomically('--out', outDir, overwrite, 'convert', write);
}
