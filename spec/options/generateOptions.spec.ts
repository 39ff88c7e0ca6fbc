import { Command } from 'commander';
import { addGenerationFlags, flagOf, generationOptionsOf } from '../../bin/generationFlags';
import { defineTableau } from '../../lib/ode/butcherTableau';
import { EULER, RK4 } from '../../lib/ode/tableaus';
import {
  DEFAULT_GENERATE_OPTIONS,
  GENERATE_OPTION_NAMES,
  GENERATE_OPTION_SPECS,
  GenerateOptions,
  optionSpec,
} from '../../lib/options/generateOptions';
import { InvalidOptionError } from '../../lib/options/invalidOption';
import { generateOptionsFromJson, generateOptionsToJson } from '../../lib/options/optionsJson';
import { resolveGenerateOptions } from '../../lib/options/resolveGenerateOptions';
import { STYLE_PRESET, styleWindowFor } from '../../lib/options/stylePreset';
import { windowRange } from '../../lib/options/windowOption';

/** The error resolveGenerateOptions throws for `given`, as [option, message]. */
function rejection(given: Partial<GenerateOptions> | Record<string, unknown>): [string, string] {
  try {
    resolveGenerateOptions(given as Partial<GenerateOptions>);
  } catch (e) {
    if (!(e instanceof InvalidOptionError)) throw e;
    return [e.option, e.message];
  }
  throw new Error('accepted');
}

describe('the option table', () => {
  test('every default is accepted by its own check, and survives JSON', () => {
    for (const name of GENERATE_OPTION_NAMES) {
      const spec = optionSpec(name);
      expect([name, spec.problem(spec.default)]).toEqual([name, null]);
      expect(spec.fromJson(JSON.parse(JSON.stringify(spec.toJson(spec.default))))).toEqual(spec.default);
    }
    expect(DEFAULT_GENERATE_OPTIONS.tableau).toBe(EULER);
  });

  test.each<[keyof GenerateOptions, string, unknown]>([
    ['n', '6:1', { from: 6, to: 1 }],
    ['n', '4', 4],
    ['window', '30..69', { start: 30, end: 69 }],
    ['window', 'none', 'none'],
    ['tableau', 'rk4', RK4],
    ['size', '64', [64, 64]],
    ['size', '48x96', [48, 96]],
    ['lossWeights', 'style=1,clip=0.1', { style: 1, clip: 0.1 }],
    ['guidance', 'style,clip', ['style', 'clip']],
    ['rhoScale', '1e-3', 0.001],
    ['strength', '1', 1],
  ])('%s: the CLI text %s is the typed value %j', (name, text, value) => {
    expect(optionSpec(name).parse(text)).toEqual(value);
  });

  test.each<[keyof GenerateOptions, string, RegExp]>([
    ['n', '0', /expected an integer from 1 to 100 or 'from:to' \(e.g. 6:1\), got '0'/],
    ['n', '100000', /expected an integer from 1 to 100 or 'from:to' \(e.g. 6:1\), got '100000'/],
    ['n', '6:1:2', /got '6:1:2'/],
    ['window', '9..2', /9\.\.2 is reversed/],
    ['window', 'x', /expected 'start..end' \(main-step indices\), 'all' or 'none', got 'x'/],
    ['tableau', 'rk45', /expected one of euler, heun, midpoint, rk4/],
    ['steps', '0', /expected an integer in \[1, 1000\], got '0'/],
    ['steps', '2.5', /got '2.5'/],
    ['rhoMax', '0', /expected a number > 0, got '0'/],
    ['strength', '1.5', /expected a number in \(0, 1\]/],
    ['cfg', '', /expected a number >= 0, got ''/],
    ['guidance', 'style,shape', /got 'shape'/],
    ['lossWeights', 'style=x', /kind=weight pairs/],
    ['sampler', 'euler_a', /expected one of ddim, dpmpp2m/],
    ['size', '64x', /expected N or HxW/],
  ])('%s rejects the CLI text %j', (name, text, message) => {
    expect(() => optionSpec(name).parse(text)).toThrow(message);
  });

  test('a stock tableau is recorded by name, a custom one in full, and both come back', () => {
    const ralston = defineTableau({ name: 'ralston', a: [[], [2 / 3]], b: [0.25, 0.75], c: [0, 2 / 3] });
    const json = generateOptionsToJson({ tableau: RK4, n: { from: 6, to: 1 }, window: { start: 3, end: 9 } });
    expect(json).toEqual({ tableau: 'rk4', n: { from: 6, to: 1 }, window: '3..9' });
    expect(generateOptionsFromJson(json, 'test')).toEqual({
      tableau: RK4,
      n: { from: 6, to: 1 },
      window: { start: 3, end: 9 },
    });
    const custom = generateOptionsFromJson(generateOptionsToJson({ tableau: ralston }), 'test').tableau;
    expect(custom).toEqual(ralston);
  });

  test("records written before options were typed (n and window as the CLI's text) still read", () => {
    expect(generateOptionsFromJson({ n: '6:1', window: '30..69', tableau: 'heun' }, 'old.png')).toMatchObject(
      {
        n: { from: 6, to: 1 },
        window: { start: 30, end: 69 },
      },
    );
  });

  test('JSON errors name the source and the option', () => {
    expect(() => generateOptionsFromJson({ steps: 0 }, 'sag.json defaults')).toThrow(
      'sag.json defaults: steps: expected an integer in [1, 1000], got 0',
    );
    expect(() => generateOptionsFromJson({ speed: 3 }, '--from a.png')).toThrow(
      "--from a.png: 'speed' is not a generation option of this sag version",
    );
  });
});

describe('resolveGenerateOptions: the library takes typed values and names options in its errors', () => {
  test('defaults, then model recommendations, then the caller; undefined means not given', () => {
    const o = resolveGenerateOptions({ steps: 20, rhoScale: undefined }, { rhoScale: 0.05, steps: 30 });
    expect(o.steps).toBe(20);
    expect(o.rhoScale).toBe(0.05);
    expect(o.n).toBe(4);
  });

  test.each<[Record<string, unknown>, string, RegExp]>([
    [{ n: 0 }, 'n', /^n: expected an integer from 1 to 100 or a schedule/],
    [{ n: '4' }, 'n', /got '4'/],
    [{ n: { from: 6 } }, 'n', /n: expected/],
    [
      { tableau: 'rk4' },
      'tableau',
      /tableau: expected one of euler.* or a tableau \{ name, a, b, c \}, got 'rk4'/,
    ],
    [{ tableau: { name: 'bad', a: [[], [1]], b: [0.5, 0.6], c: [0, 1] } }, 'tableau', /b sums to 1.1/],
    [{ window: { start: 3, end: 60 } }, 'window', /window: 3\.\.60 is not inside main steps 0\.\.49/],
    [{ num: 0 }, 'num', /num: expected an integer in \[1, 256\], got 0/],
    [{ seed: -1 }, 'seed', /seed: expected an integer >= 0/],
    [{ rhoScale: NaN }, 'rhoScale', /rhoScale: expected a number >= 0, got NaN/],
    [{ method: 'dps' }, 'method', /method: expected one of sag, freedom, ug, none, got 'dps'/],
    [{ stepz: 3 }, 'stepz', /stepz: not a generation option/],
    [{ target: 7 }, 'target', /only used by guidance class or clip \(got no guidance\)/],
    [{ style: 'a.png' }, 'style', /only used by guidance style/],
    [{ ref: ['a.png'] }, 'ref', /only used by guidance object or face/],
    [{ guidance: ['style'] }, 'style', /guidance style needs a style reference image/],
    [{ guidance: ['face'] }, 'ref', /needs a face image/],
    [{ guidance: ['class'], target: 'seven' }, 'target', /needs a class index .* got 'seven'/],
    [
      { guidance: ['class'], target: 7, lossWeights: { style: 2 } },
      'lossWeights',
      /weights style, which is not/,
    ],
  ])('%j is rejected as option %s', (given, option, message) => {
    const [name, text] = rejection(given);
    expect(name).toBe(option);
    expect(text).toMatch(message);
  });

  test('class targets may be numbers or integer text; a custom tableau object is accepted', () => {
    const ralston = defineTableau({ name: 'ralston', a: [[], [2 / 3]], b: [0.25, 0.75], c: [0, 2 / 3] });
    expect(resolveGenerateOptions({ guidance: ['class'], target: 7, tableau: ralston }).tableau).toBe(
      ralston,
    );
    expect(resolveGenerateOptions({ guidance: ['class'], target: '3' }).target).toBe('3');
  });

  test('the style preset is valid, and its window follows the step count', () => {
    expect(() => resolveGenerateOptions({ ...STYLE_PRESET, style: 'x.png' })).not.toThrow();
    expect(styleWindowFor(100)).toEqual({ start: 30, end: 69 });
    expect(styleWindowFor(12)).toEqual({ start: 4, end: 7 });
    expect(windowRange(styleWindowFor(3), 3)).not.toBeNull();
  });
});

describe('CLI flags derived from the table', () => {
  const parse = (args: string[], config = {}) => {
    const command = addGenerationFlags(
      new Command('g').exitOverride().configureOutput({ writeErr: () => undefined }),
      config,
    );
    command.parse(args, { from: 'user' });
    return generationOptionsOf(command.opts());
  };

  test('one flag per option, named after it', () => {
    const command = addGenerationFlags(new Command('g'));
    const flags = command.options.map((o) => o.long);
    expect(flags).toEqual(GENERATE_OPTION_NAMES.map(flagOf));
    expect(flagOf('rhoScale')).toBe('--rho-scale');
    expect(Object.keys(GENERATE_OPTION_SPECS)).toContain('negativePrompt');
  });

  test('flags give typed values under the same keys', () => {
    expect(
      parse([
        '--n',
        '6:1',
        '--tableau',
        'heun',
        '--window',
        '2..5',
        '--ref',
        'a.png',
        'b.png',
        '--seed',
        '3',
      ]),
    ).toEqual({
      n: { from: 6, to: 1 },
      tableau: defineTableau({ name: 'heun', a: [[], [1]], b: [0.5, 0.5], c: [0, 1] }),
      window: { start: 2, end: 5 },
      ref: ['a.png', 'b.png'],
      seed: 3,
    });
  });

  test('a bad value names the flag', () => {
    expect(() => parse(['--n', 'x'])).toThrow(
      /--n: expected an integer from 1 to 100 or 'from:to' \(e.g. 6:1\), got 'x'/,
    );
    expect(() => parse(['--rho-max', '-1'])).toThrow(/--rho-max: expected a number > 0, got '-1'/);
  });

  test('help shows each default, the preset ones for a preset command, and omits options it sets itself', () => {
    const plain = addGenerationFlags(new Command('generate')).helpInformation().replace(/\s+/g, ' ');
    expect(plain).toMatch(/--steps <T> main sampler steps \(default: 50\)/);
    expect(plain).toMatch(/--tableau <name>[\s\S]*\(euler, heun, midpoint, rk4\) \(default: euler\)/);
    const preset = addGenerationFlags(new Command('stylize'), {
      omit: ['guidance'],
      preset: STYLE_PRESET,
    })
      .helpInformation()
      .replace(/\s+/g, ' ');
    expect(preset).toMatch(/main sampler steps \(default: 100\)/);
    expect(preset).not.toMatch(/--guidance/);
    expect(plain).toMatch(/--style <image> style reference image \(default: none\)/);
  });
});
