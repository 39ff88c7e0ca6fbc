import { spawnSync } from 'child_process';
import * as path from 'path';

// CI installs what the tests need with .ci/install-*; those scripts must work on a machine of CI's image that comes
// new, which no earlier CI run can show (an earlier run leaves everything installed). .ci/check-fresh-machine runs
// each script on simulated new machines; it needs root and unshare (CI has both).
const root = path.join(__dirname, '..', '..');
// A private mount namespace with a bind mount is what the simulation needs (some containers forbid it).
const canSimulate =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /tmp /tmp'], { stdio: 'ignore' }).status === 0;
if (!canSimulate)
  process.stdout.write(
    'ci scripts: fresh-machine simulation SKIPPED: it needs root and a private mount namespace (unshare -m)\n',
  );

(canSimulate ? test : test.skip)(
  'every .ci/install-* script works on a machine of CI image as it comes new',
  () => {
    const run = spawnSync(path.join(root, '.ci', 'check-fresh-machine'), {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stdout + run.stderr).toContain('every .ci/install-* script works on a new machine');
    expect(run.status).toBe(0);
  },
);
