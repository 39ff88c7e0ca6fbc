import { InvalidArgumentError } from 'commander';

export function parseIntegerList(flag: string, min = 1): (value: string) => number[] {
  return (value: string) => {
    const items = value.split(',').map((s) => s.trim());
    const numbers = items.map(Number);
    if (items.some((s) => s === '') || numbers.some((v) => !Number.isInteger(v) || v < min)) {
      throw new InvalidArgumentError(
        `${flag}: expected a comma-separated list of integers >= ${min}, got '${value}'`,
      );
    }
    return numbers;
  };
}

export function parseInteger(
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): (value: string) => number {
  return (value: string) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`${flag}: expected an integer in [${min}, ${max}], got '${value}'`);
    }
    return v;
  };
}

export function parseChoiceList<T extends string>(
  flag: string,
  choices: readonly T[],
): (value: string) => T[] {
  return (value: string) => {
    const items = value.split(',').map((s) => s.trim());
    for (const item of items) {
      if (!(choices as readonly string[]).includes(item)) {
        throw new InvalidArgumentError(
          `${flag}: expected a comma-separated subset of ${choices.join(', ')}, got '${item}'`,
        );
      }
    }
    return items as T[];
  };
}

/** A latent side: an integer >= 8 that SD's three downsamplings divide. */
export function parseLatentSize(flag: string): (value: string) => number {
  const integer = parseInteger(flag, 8);
  return (value: string) => {
    const v = integer(value);
    if (v % 8 !== 0)
      throw new InvalidArgumentError(`${flag}: expected a multiple of 8 (three downsamplings), got ${v}`);
    return v;
  };
}

/** A number in (0, 1]. */
export function parseFraction(flag: string): (value: string) => number {
  return (value: string) => {
    const v = Number(value);
    if (value.trim() === '' || !(v > 0 && v <= 1))
      throw new InvalidArgumentError(`${flag}: expected a number in (0, 1], got '${value}'`);
    return v;
  };
}
