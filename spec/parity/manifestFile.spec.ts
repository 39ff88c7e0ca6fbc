import * as fs from 'fs';
import * as path from 'path';
import { readManifest } from '../helpers/fixtures';
import { makeTempDir } from '../helpers/tempDir';

describe('the fixture manifest', () => {
  const saved = process.env.SAG_FIXTURES;
  afterEach(() => {
    if (saved === undefined) delete process.env.SAG_FIXTURES;
    else process.env.SAG_FIXTURES = saved;
  });

  test('the repository has its own, with cases (no directory beside the clone needed)', () => {
    delete process.env.SAG_FIXTURES;
    expect(readManifest().cases.length).toBeGreaterThan(10);
  });

  test.each([
    [null, /fixture manifest not found/],
    ['{ "cases": [', /not valid JSON/],
    ['{ "tolerance": { "relative_l2": 1e-4 } }', /malformed fixture manifest: cases must be an array/],
    ['{ "tolerance": {}, "cases": [] }', /tolerance.relative_l2 must be a number/],
    ['{ "tolerance": { "relative_l2": 1e-4 }, "cases": [{ "name": "x" }] }', /case 0 needs/],
  ])('%s: one error naming the file', (content, message) => {
    const dir = makeTempDir('manifest');
    if (content !== null) fs.writeFileSync(path.join(dir, 'manifest.json'), content);
    process.env.SAG_FIXTURES = dir;
    expect(() => readManifest()).toThrow(message);
    expect(() => readManifest()).toThrow(path.join(dir, 'manifest.json'));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
