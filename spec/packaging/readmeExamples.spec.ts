import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readImageFile } from '../../lib/io/imageFile';
import { makeTempDir } from '../helpers/tempDir';

const root = path.join(__dirname, '..', '..');

/** The README's code blocks whose first line is `// <file name> ...`, by file name. */
function readmeExamples(): Record<string, string> {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const examples: Record<string, string> = {};
  for (const [, code] of readme.matchAll(/```(?:js|ts)\n(.*?)```/gs)) {
    const name = /^\/\/ (\S+\.(?:mjs|ts)) /.exec(code)?.[1];
    if (name) examples[name] = code;
  }
  return examples;
}

/**
 * The README's library examples, run as a user would: `npm pack`, a new project that installs the tarball, the
 * JavaScript example executed, the TypeScript one type-checked against the published declarations.
 */
describe('README library examples from the packed tarball', () => {
  let project: string;
  const run = (command: string, args: string[], cwd: string) =>
    execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });

  beforeAll(() => {
    project = makeTempDir('readme-project');
    const tarball = run('npm', ['pack', '--silent', '--pack-destination', project], root)
      .trim()
      .split('\n')
      .pop();
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'readme-project', version: '1.0.0', type: 'module', private: true }),
    );
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(project, tarball as string)],
      project,
    );
    for (const [name, code] of Object.entries(readmeExamples()))
      fs.writeFileSync(path.join(project, name), code);
  }, 300_000);

  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  test('the README has its four examples', () => {
    expect(Object.keys(readmeExamples()).sort()).toEqual(['cat.ts', 'digits.mjs', 'estimate.mjs', 'page.ts']);
  });

  test('digits.mjs runs as written and writes its picture', () => {
    const output = run(process.execPath, ['digits.mjs'], project);
    expect(output).toMatch(/\[/);
    const picture = readImageFile(path.join(project, 'sevens.png'));
    expect(picture.width).toBeGreaterThanOrEqual(4 * 32);
  }, 300_000);

  test('estimate.mjs runs as written: a user loss through cleanEstimateOp', () => {
    const output = run(process.execPath, ['estimate.mjs'], project);
    const [, loss, norm] = /loss (\S+), \|dL\/dx_t\| (\S+)/.exec(output) ?? [];
    expect(Number.isFinite(Number(loss))).toBe(true);
    expect(Number(norm)).toBeGreaterThan(0);
  }, 300_000);

  const typeCheck = (file: string, lib?: string[]) => {
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib,
          strict: true,
          noEmit: true,
          types: [],
          // tfjs's own declarations do not pass a full library check; the example itself is checked.
          skipLibCheck: true,
        },
        files: [file],
      }),
    );
    run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project);
  };

  test('cat.ts type-checks against the published declarations (no @types/node in the project)', () => {
    typeCheck('cat.ts');
  }, 120_000);

  test('page.ts (the library in a browser page) type-checks against the published declarations with the DOM', () => {
    typeCheck('page.ts', ['es2022', 'dom']);
  }, 120_000);
});
