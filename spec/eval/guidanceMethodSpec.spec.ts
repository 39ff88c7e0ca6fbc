import { parseGuidanceMethod, parseGuidanceMethods } from '../../lib/eval/guidanceMethodSpec';

test('method specs: a method with settings parsed like their generate flags', () => {
  expect(parseGuidanceMethod('none')).toEqual({ label: 'none', method: 'none', options: { method: 'none' } });
  expect(parseGuidanceMethod('freedom:repeats=4').options).toEqual({ method: 'freedom', repeats: 4 });
  const sag = parseGuidanceMethod('sag:n=4:grad=direct:tableau=rk4');
  expect(sag.label).toBe('sag:n=4:grad=direct:tableau=rk4');
  expect(sag.options.n).toBe(4);
  expect(sag.options.grad).toBe('direct');
  expect(sag.options.tableau?.name).toBe('rk4');
  // An adaptive n holds a ':' of its own.
  expect(parseGuidanceMethod('sag:n=6:1:grad=direct').options).toMatchObject({
    n: { from: 6, to: 1 },
    grad: 'direct',
  });
  expect(parseGuidanceMethods('none,ug,sag:n=2').map((m) => m.label)).toEqual(['none', 'ug', 'sag:n=2']);
  // A method's own strengths (UG's step size means something else): not part of its name.
  const ug = parseGuidanceMethod('ug:strengths=0.01/0.04:repeats=2');
  expect([ug.label, ug.strengths, ug.options.repeats]).toEqual(['ug:repeats=2', [0.01, 0.04], 2]);
  expect(parseGuidanceMethod('sag:n=2').strengths).toBeUndefined();
});

test('method specs: each mistake named', () => {
  expect(() => parseGuidanceMethod('dps')).toThrow(
    "--methods: expected a method among sag, freedom, ug, none, got 'dps'",
  );
  expect(() => parseGuidanceMethod('freedom:n=4')).toThrow('n applies to sag only');
  expect(() => parseGuidanceMethod('none:repeats=2')).toThrow(
    'repeats (time travel) applies to guided methods only',
  );
  expect(() => parseGuidanceMethod('sag:steps=4')).toThrow(
    "expected settings of the form n=..., tableau=..., grad=..., grid=..., repeats=..., strengths=..., got 'steps=4'",
  );
  expect(() => parseGuidanceMethod('sag:n=0')).toThrow("'sag:n=0': n:");
  expect(() => parseGuidanceMethod('sag:n=2:n=3')).toThrow('n is given twice');
  expect(() => parseGuidanceMethod('none:strengths=1')).toThrow('the unguided method has no strength');
  expect(() => parseGuidanceMethod('ug:strengths=0.1/x')).toThrow(
    "expected strengths=a/b/..., numbers >= 0, got '0.1/x'",
  );
  expect(() => parseGuidanceMethods('sag:n=2,sag:n=2')).toThrow("'sag:n=2' is listed twice");
});
