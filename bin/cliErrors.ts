import { InvalidOptionError } from '../lib/options/invalidOption';
import { flagOf } from './generationFlags';

/** Exit code for bad input (DESIGN: errors and outputs). */
export const BAD_INPUT_EXIT_CODE = 2;

/** Prints one error line and exits non-zero. */
export function failWith(error: unknown): never {
  // The library names options as it knows them (`n: ...`); on the command line they are flags (`--n: ...`).
  const message =
    error instanceof InvalidOptionError
      ? `${flagOf(error.option)}: ${error.expectation}`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`sag: error: ${message.split('\n')[0]}\n`);
  if (process.env.SAG_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  process.exit(BAD_INPUT_EXIT_CODE);
}

/** Wraps a command action so that any thrown error becomes one line on stderr and exit code 2. */
export function guarded<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      failWith(e);
    }
  };
}
