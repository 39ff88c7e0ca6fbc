import * as fs from 'fs';
import * as path from 'path';

/**
 * The repository's copy of the public parity fixtures (checkpoints of tiny models, cases, manifest; see its
 * README.md). Tests that need a tiny Stable Diffusion, CLIP or ArcFace model always take them from here.
 */
export function repoFixtureDir(): string {
  return path.join(__dirname, '..', 'fixtures', 'parity');
}

/** The fixture set whose manifest the parity suites run: $SAG_FIXTURES, or the repository's copy. */
export function fixtureDir(): string {
  return path.resolve(process.env.SAG_FIXTURES ?? repoFixtureDir());
}

export interface FixtureCase {
  name: string;
  component: string;
  model: string | null;
  tensors: string;
  config?: Record<string, unknown>;
  steps?: number;
  inputs?: Record<string, string>;
  outputs?: Record<string, string>;
  vjp?: { wrt: string; cotangent: string | Record<string, string>; expected: string };
  prompts?: string[];
  [key: string]: unknown;
}

export interface FixtureManifest {
  format: number;
  tolerance: { relative_l2: number };
  cases: FixtureCase[];
}

/** The manifest of fixtureDir(), checked: a missing or malformed one is one error naming the file. */
export function readManifest(): FixtureManifest {
  const file = path.join(fixtureDir(), 'manifest.json');
  if (!fs.existsSync(file))
    throw new Error(`${file}: fixture manifest not found (SAG_FIXTURES must name a fixture directory)`);
  let manifest: FixtureManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as FixtureManifest;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const problem =
    typeof manifest?.tolerance?.relative_l2 !== 'number'
      ? 'tolerance.relative_l2 must be a number'
      : !Array.isArray(manifest.cases)
        ? 'cases must be an array'
        : manifest.cases
            .map((c, i) =>
              typeof c?.name !== 'string' || typeof c.component !== 'string' || typeof c.tensors !== 'string'
                ? `case ${i} needs string name, component and tensors`
                : null,
            )
            .find((p) => p !== null);
  if (problem) throw new Error(`${file}: malformed fixture manifest: ${problem}`);
  return manifest;
}

export function casesOf(component: string): FixtureCase[] {
  return readManifest().cases.filter((c) => c.component === component);
}

export function casePath(relative: string): string {
  return path.join(fixtureDir(), relative);
}
