/**
 * An explicit Runge-Kutta method as data: stages X_j = x + h * sum_{l<j} a[j][l] F_l, F_j = f(X_j, s + c_j h),
 * x' = x + h * sum_j b_j F_j. Construct with `defineTableau`, which validates it.
 */
export interface ButcherTableau {
  readonly name: string;
  /** Strictly lower-triangular stage coefficients; a[j] has j entries. */
  readonly a: readonly (readonly number[])[];
  readonly b: readonly number[];
  readonly c: readonly number[];
}

const TOLERANCE = 1e-12;

/** Validates and freezes a tableau; throws an error naming the violated condition. */
export function defineTableau(spec: {
  name: string;
  a: number[][];
  b: number[];
  c: number[];
}): ButcherTableau {
  const { name, a, b, c } = spec;
  const s = b.length;
  if (s < 1) throw new Error(`tableau '${name}': b must have at least one entry`);
  if (c.length !== s || a.length !== s) {
    throw new Error(
      `tableau '${name}': a, b and c must have one entry per stage (a: ${a.length}, b: ${s}, c: ${c.length})`,
    );
  }
  for (const v of [...b, ...c, ...a.flat()]) {
    if (!Number.isFinite(v)) throw new Error(`tableau '${name}': coefficients must be finite numbers`);
  }
  a.forEach((row, j) => {
    if (row.length !== j) {
      throw new Error(
        `tableau '${name}': row ${j} of a must have ${j} entries (explicit methods only), got ${row.length}`,
      );
    }
    const rowSum = row.reduce((x, y) => x + y, 0);
    if (Math.abs(rowSum - c[j]) > TOLERANCE) {
      throw new Error(
        `tableau '${name}': row ${j} of a sums to ${rowSum}, but c[${j}] = ${c[j]} (need sum_l a[j][l] = c[j])`,
      );
    }
  });
  const bSum = b.reduce((x, y) => x + y, 0);
  if (Math.abs(bSum - 1) > TOLERANCE) {
    throw new Error(`tableau '${name}': b sums to ${bSum}, expected 1 (need sum_j b[j] = 1)`);
  }
  return Object.freeze({
    name,
    a: Object.freeze(a.map((row) => Object.freeze([...row]))),
    b: Object.freeze([...b]),
    c: Object.freeze([...c]),
  });
}
