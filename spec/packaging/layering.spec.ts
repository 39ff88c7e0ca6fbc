import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

/** Every relative import of a file, resolved to a repo-relative path. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(([, target]) =>
    path.relative(root, path.resolve(path.dirname(path.join(root, file)), target)),
  );
}

function arrowsInto(fromDirs: string[], intoDir: string): string[] {
  return fromDirs.flatMap(sourceFiles).flatMap((file) =>
    importsOf(file)
      .filter((target) => target === intoDir || target.startsWith(`${intoDir}${path.sep}`))
      .map((target) => `${file} -> ${target}`),
  );
}

describe('layering: no import runs against the architecture', () => {
  test('the library, the CLI and the converters import nothing from weights/ (training code)', () => {
    expect(arrowsInto(['lib', 'bin', 'converters'], 'weights')).toEqual([]);
  });

  test('the library and the CLI import nothing from the browser page (web/)', () => {
    expect(arrowsInto(['lib', 'bin'], 'web')).toEqual([]);
  });

  test('the guided sampling loop does not import the pipeline built on it', () => {
    expect(arrowsInto(['lib/guidance'], path.join('lib', 'pipeline'))).toEqual([]);
  });

  test('the published package holds no training code and no source outside dist', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: root,
        encoding: 'utf8',
      }),
    ) as { files: { path: string }[] }[];
    const files = pack.files.map((f) => f.path);
    expect(files.filter((f) => /(^|\/)train(\/|$)/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files).toContain('weights/digit-unet/sag.json');
    expect(files).toContain('bench/torch_digits.py');
  });
});
