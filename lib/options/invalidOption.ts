/**
 * A generation option with a value outside what it accepts. The message names the option as the library knows it
 * (`n: expected ...`); the CLI names the flag instead (`--n: expected ...`) from `option`.
 */
export class InvalidOptionError extends Error {
  constructor(
    readonly option: string,
    readonly expectation: string,
  ) {
    super(`${option}: ${expectation}`);
    this.name = 'InvalidOptionError';
  }
}

/** What a value looked like, for an error message: strings quoted, the rest as JSON. */
export function shownValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}
