import { ModelFiles } from './modelFiles';

/** In a browser there are no local directories: models are loaded from URLs (`urlModelFiles`). */
export function directoryModelFiles(dir: string): ModelFiles {
  throw new Error(
    `${dir}: a browser cannot read local directories; load the model from a URL (urlModelFiles)`,
  );
}
