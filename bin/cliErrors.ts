import { InvalidOptionError } from '../lib/options/invalidOption';
import { RunFailedError } from '../lib/runFailure';
import { flagOf } from './generationFlags';

/** Exit code for bad input: a flag, a file or a model that is not what was expected. */
export const BAD_INPUT_EXIT_CODE = 2;
/** Exit code for a run that failed: divergence, a failed or lost GPU device, or a bug in sag. */
export const RUN_FAILED_EXIT_CODE = 1;

/** JavaScript's own error types, which sag's checks never throw: reaching one is a bug in sag. */
const BUG_TYPES = [TypeError, ReferenceError, RangeError, EvalError];

function isBug(error: unknown): boolean {
  return !(error instanceof Error) || BUG_TYPES.some((type) => error instanceof type);
}

/** The exit code for an error: 1 for a failed run or a bug, 2 for bad input. */
export function exitCodeOf(error: unknown): number {
  return error instanceof RunFailedError || isBug(error) ? RUN_FAILED_EXIT_CODE : BAD_INPUT_EXIT_CODE;
}

/** The one line printed for an error (without the `sag: ` prefix). */
export function errorLine(error: unknown): string {
  // The library names options as it knows them (`n: ...`); on the command line they are flags (`--n: ...`).
  const message =
    error instanceof InvalidOptionError
      ? `${flagOf(error.option)}: ${error.expectation}`
      : error instanceof Error
        ? error.message
        : String(error);
  const first = message.split('\n')[0];
  if (isBug(error)) {
    const type = error instanceof Error ? error.name : typeof error;
    return `internal error: ${type}: ${first} (a bug in sag; SAG_DEBUG=1 prints where it happened)`;
  }
  return `error: ${first}`;
}

/** Prints one error line and exits: code 2 for bad input, 1 for a failed run or a bug. */
export function failWith(error: unknown): never {
  process.stderr.write(`sag: ${errorLine(error)}\n`);
  if (process.env.SAG_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  process.exit(exitCodeOf(error));
}

/** Wraps a command action so that any thrown error becomes one line on stderr and its exit code. */
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
