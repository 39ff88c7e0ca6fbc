import * as fs from 'fs';
import * as path from 'path';
import { SAG_ATTENTION } from '../../lib/kernels';
import { repoFixtureDir } from '../helpers/fixtures';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';

let tmp: string;
beforeAll(() => {
  tmp = makeTempDir('fused-ops-cli');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function count(dir: string, op: string): number {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  return (json.modelTopology.node as { op: string }[]).filter((n) => n.op === op).length;
}

/** `sag convert clip` on the tiny fixture into `out`, without VJP graphs, with `flags`. */
const convertTinyClip = (out: string, flags: readonly string[]) =>
  runCli([
    'convert',
    'clip',
    path.join(repoFixtureDir(), 'clip-tiny'),
    '--out',
    out,
    '--no-vjp-graph',
    ...flags,
  ]);

test.each([
  [[], true],
  [['--fused-ops', 'attention'], true],
  [['--fused-ops', 'groupnorm'], false],
  [['--no-fused-ops'], false],
] as const)(
  'sag convert clip %j: the vision tower has SagAttention nodes: %s; the text tower (causal mask) never',
  async (flags, fused) => {
    const out = path.join(tmp, `clip${flags.join('')}`);
    const run = await convertTinyClip(out, flags);
    expect(run.code).toBe(0);
    expect(count(path.join(out, 'clip_vision'), SAG_ATTENTION) > 0).toBe(fused);
    expect(count(path.join(out, 'clip_text'), SAG_ATTENTION)).toBe(0);
  },
  120_000,
);

test('an unknown --fused-ops choice is one error line, exit 2, no output', async () => {
  const out = path.join(tmp, 'bad');
  const run = await convertTinyClip(out, ['--fused-ops', 'softmax']);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/option '--fused-ops <which>' argument 'softmax' is invalid/);
  expect(fs.existsSync(out)).toBe(false);
});
