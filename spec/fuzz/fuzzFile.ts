import * as fc from 'fast-check';

/** Cases per reader: a fixed number in CI, many more with `npm run fuzz` (SAG_FUZZ_RUNS). */
export const FUZZ_RUNS = Number(process.env.SAG_FUZZ_RUNS ?? 80);
/** The seed of a run: printed by fast-check on a failure, set with SAG_FUZZ_SEED to replay it. */
export const FUZZ_SEED = process.env.SAG_FUZZ_SEED ? Number(process.env.SAG_FUZZ_SEED) : undefined;

/** One change to a valid file's bytes. */
export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'u64'; at: number; value: bigint }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

/** Mutations of a file of `size` bytes: truncation anywhere, flipped bytes, huge or zero lengths, inserted bytes. */
export function mutations(size: number): fc.Arbitrary<Mutation[]> {
  const at = fc.nat({ max: Math.max(0, size - 1) });
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    at.map((a) => ({ kind: 'truncate' as const, at: a })),
    fc.record({ kind: fc.constant('flip' as const), at, value: fc.nat({ max: 255 }) }),
    fc.record({
      kind: fc.constant('u32' as const),
      at,
      value: fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.constant(0x7fffffff), fc.nat()),
    }),
    fc.record({
      kind: fc.constant('u64' as const),
      at,
      value: fc.oneof(
        fc.constant(0n),
        fc.constant(2n ** 53n),
        fc.constant(2n ** 64n - 1n),
        fc.bigInt({ min: 0n, max: 2n ** 40n }),
      ),
    }),
    fc.record({
      kind: fc.constant('insert' as const),
      at,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
  );
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

export function applyMutations(original: Buffer, list: Mutation[]): Buffer {
  let bytes = Buffer.from(original);
  for (const m of list) {
    if (m.at >= bytes.length && m.kind !== 'insert') continue;
    if (m.kind === 'truncate') bytes = bytes.subarray(0, m.at);
    else if (m.kind === 'flip') bytes[m.at] = m.value;
    else if (m.kind === 'u32' && m.at + 4 <= bytes.length) {
      bytes.writeUInt32LE(m.value >>> 0, m.at);
    } else if (m.kind === 'u64' && m.at + 8 <= bytes.length) bytes.writeBigUInt64LE(m.value, m.at);
    else if (m.kind === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, m.at), Buffer.from(m.bytes), bytes.subarray(m.at)]);
  }
  return bytes;
}

/** JavaScript's own error types: a reader that lets one out has a bug (it should say what is wrong with the file). */
const BUGS = [TypeError, RangeError, ReferenceError, SyntaxError];

class HangError extends Error {}

/**
 * Runs a reader on a mutated file and checks the outcome: it returns, or throws one Error whose message names the
 * file, not a JavaScript error type, within `limitMs`.
 */
export async function expectCleanOutcome(
  file: string,
  read: () => unknown | Promise<unknown>,
  limitMs = 3000,
): Promise<void> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`no answer within ${limitMs} ms`)), limitMs);
  });
  try {
    await Promise.race([Promise.resolve().then(read), hung]);
  } catch (error) {
    if (error instanceof HangError) throw error;
    if (!(error instanceof Error)) throw new Error(`threw a non-Error: ${String(error)}`);
    if (BUGS.some((type) => error instanceof type))
      throw new Error(`let a ${error.name} out: ${error.message}`);
    if (!error.message.includes(file))
      throw new Error(`an error that does not name the file: ${error.message}`);
    if (error.message.includes('\n    at '))
      throw new Error(`a stack trace in the message: ${error.message}`);
  }
  clearTimeout(timer);
  const ms = performance.now() - start;
  if (ms > limitMs) throw new Error(`took ${ms.toFixed(0)} ms`);
}
