/**
 * Runs `load` and names the input it came from in any error ("--model <dir>: model directory not found"), so that
 * a message from a loader that only knows a path says which option to fix. Works for sync and async loaders.
 */
export function withInputName<T>(option: string, load: () => T): T {
  const rename = (error: unknown): never => {
    if (error instanceof Error && !error.message.startsWith(option))
      error.message = `${option} ${error.message}`;
    throw error;
  };
  try {
    const result = load();
    return (result instanceof Promise ? result.catch(rename) : result) as T;
  } catch (error) {
    return rename(error);
  }
}
