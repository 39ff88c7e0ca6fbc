import * as fs from 'fs';
import * as path from 'path';

/** The fixture directory: $SAG_FIXTURES or ../shared/fixtures/public relative to the repository. */
export function fixtureDir(): string {
  return path.resolve(
    process.env.SAG_FIXTURES ?? path.join(__dirname, '..', '..', '..', 'shared', 'fixtures', 'public'),
  );
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

export function readManifest(): FixtureManifest {
  const file = path.join(fixtureDir(), 'manifest.json');
  if (!fs.existsSync(file)) throw new Error(`${file}: fixture manifest not found (set SAG_FIXTURES)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as FixtureManifest;
}

export function casesOf(component: string): FixtureCase[] {
  return readManifest().cases.filter((c) => c.component === component);
}

export function casePath(relative: string): string {
  return path.join(fixtureDir(), relative);
}
