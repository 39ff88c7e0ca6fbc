/**
 * The files of a converted model, wherever they are: a directory (Node, `directoryModelFiles`) or a URL (browser or
 * Node, `urlModelFiles`). Loaders read through this so that the same loading code runs in Node and in a browser.
 */
export interface ModelFiles {
  /** The directory or URL, for messages. */
  readonly location: string;
  /** The files under `name` (a sub-directory). */
  at(name: string): ModelFiles;
  /** A file's text; a MissingModelFile error naming the file when it is missing. */
  readText(name: string): Promise<string>;
  /** A file's bytes (an ArrayBuffer of its own); a MissingModelFile error naming the file when it is missing. */
  readBytes(name: string): Promise<ArrayBuffer>;
  /** Whether the file exists. */
  has(name: string): Promise<boolean>;
}

/** A file that is not there (a directory without it, an HTTP 404): loaders turn it into what is missing. */
export class MissingModelFile extends Error {}

/** Reads a file, or says `missing` (prefixed by the file) when it is not there; other errors pass through. */
export async function readOr<T>(
  files: ModelFiles,
  name: string,
  read: () => Promise<T>,
  missing: string,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof MissingModelFile)
      throw new Error(`${joinLocation(files.location, name)}: ${missing}`);
    throw error;
  }
}

/** Joins a location and a relative name with '/', as both file paths and URLs take it. */
export function joinLocation(location: string, name: string): string {
  return `${location.replace(/\/+$/, '')}/${name.replace(/^\.?\/+/, '')}`;
}

/** A file's JSON; a file that is not JSON is an error naming it. */
export async function readJson(files: ModelFiles, name: string): Promise<unknown> {
  const text = await files.readText(name);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${joinLocation(files.location, name)}: not valid JSON (${(error as Error).message})`);
  }
}
