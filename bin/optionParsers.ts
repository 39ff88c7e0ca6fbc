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
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
      throw new InvalidArgumentError(`${flag}: expected an integer ${range}, got '${value}'`);
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

/** `i/count`: one of `count` workers, 0 <= i < count. */
export function parseShard(value: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(count >= 1 && index >= 0 && index < count))
    throw new InvalidArgumentError(`--shard: expected i/count with 0 <= i < count, got '${value}'`);
  return { index, count };
}

/** A comma-separated list of numbers >= 0. */
export function parseNumberList(flag: string): (value: string) => number[] {
  return (value) => {
    const items = value.split(',').map((s) => s.trim());
    const numbers = items.map(Number);
    if (items.some((s) => s === '') || numbers.some((v) => !Number.isFinite(v) || v < 0))
      throw new InvalidArgumentError(
        `${flag}: expected a comma-separated list of numbers >= 0, got '${value}'`,
      );
    return numbers;
  };
}

/** A comma-separated list of non-empty items. */
export function parseTextList(flag: string): (value: string) => string[] {
  return (value) => {
    const items = value.split(',').map((s) => s.trim());
    if (items.some((s) => s === ''))
      throw new InvalidArgumentError(`${flag}: expected a comma-separated list, got '${value}'`);
    return items;
  };
}
