import { EULER, HEUN, MIDPOINT, RK4, TABLEAUS, defineTableau, tableauByName } from '../../lib/ode';

describe('Butcher tableaus', () => {
  test('built-ins are consistent and frozen', () => {
    for (const t of [EULER, HEUN, MIDPOINT, RK4]) {
      expect(t.b.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
      expect(Object.isFrozen(t)).toBe(true);
    }
    expect(Object.keys(TABLEAUS).sort()).toEqual(['euler', 'heun', 'midpoint', 'rk4']);
  });

  test('rejects a row that does not sum to c', () => {
    expect(() => defineTableau({ name: 'bad', a: [[], [0.4]], b: [0.5, 0.5], c: [0, 0.5] })).toThrow(
      /row 1 of a sums to 0.4, but c\[1\] = 0.5/,
    );
  });

  test('rejects b that does not sum to 1', () => {
    expect(() => defineTableau({ name: 'bad', a: [[], [1]], b: [0.5, 0.4], c: [0, 1] })).toThrow(
      /b sums to 0.9, expected 1/,
    );
  });

  test('rejects implicit or ragged tableaus and mismatched lengths', () => {
    expect(() => defineTableau({ name: 'implicit', a: [[0.5]], b: [1], c: [0.5] })).toThrow(
      /row 0 of a must have 0 entries/,
    );
    expect(() => defineTableau({ name: 'short', a: [[]], b: [0.5, 0.5], c: [0] })).toThrow(
      /one entry per stage/,
    );
    expect(() => defineTableau({ name: 'nan', a: [[]], b: [NaN], c: [0] })).toThrow(/finite/);
  });

  test('tableauByName names the choices', () => {
    expect(tableauByName('rk4')).toBe(RK4);
    expect(() => tableauByName('rk45')).toThrow(
      /tableau: expected one of euler, heun, midpoint, rk4, got 'rk45'/,
    );
  });
});
