import * as fs from 'fs';
import * as path from 'path';

/** Reads a component's config.json; `kind` names what the directory should contain, for the error message. */
export function readJsonConfig(dir: string, kind: string): Record<string, unknown> {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new Error(`${dir}: not a ${kind} directory (no config.json)`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

export class ConfigReader {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly source: string,
  ) {}

  private fail(key: string, expected: string): never {
    throw new Error(`${this.source}: '${key}' must be ${expected}, got ${JSON.stringify(this.raw[key])}`);
  }

  number(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number');
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v)) this.fail(key, 'an integer');
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      throw new Error(
        `${this.source}: unsupported ${key} ${JSON.stringify(v)}, expected one of ${allowed.join(', ')}`,
      );
    }
    return v as T;
  }

  strings(key: string): string[] {
    const v = this.raw[key];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) this.fail(key, 'a list of strings');
    return v as string[];
  }

  ints(key: string): number[] {
    const v = this.raw[key];
    if (!Array.isArray(v) || v.some((s) => !Number.isInteger(s))) this.fail(key, 'a list of integers');
    return v as number[];
  }

  /** An int or a list of ints, expanded to `length` entries. */
  intOrList(key: string, length: number, fallback?: number): number[] {
    const v = this.raw[key] ?? fallback;
    if (Number.isInteger(v)) return new Array(length).fill(v);
    if (Array.isArray(v) && v.length === length && v.every((s) => Number.isInteger(s))) return v as number[];
    this.fail(key, `an integer or a list of ${length} integers`);
  }

  /** Requires a key to be absent, null or one of the given values (features the converter does not implement). */
  expect(key: string, allowed: unknown[]): void {
    const v = this.raw[key] ?? null;
    if (!allowed.some((a) => JSON.stringify(a) === JSON.stringify(v))) {
      throw new Error(
        `${this.source}: unsupported ${key} ${JSON.stringify(v)}, expected ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`,
      );
    }
  }
}
