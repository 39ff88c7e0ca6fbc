import { runCli } from '../helpers/runCli';
import { testBackendName } from '../helpers/testBackend';
import { describeOnWebgpu } from '../helpers/webgpuSuite';

test('sag bench soak: tensors, open files and RSS flat over mixed generations, with the curve printed', async () => {
  const run = await runCli([
    'bench',
    'soak',
    '--generations',
    '50',
    '--every',
    '12',
    '--backend',
    testBackendName(),
  ]);
  expect(run.stdout).toMatch(/^generation +method +num +ms +tensors +RSS MiB +open files +GPU MiB$/m);
  expect(run.stdout).toMatch(/^50 +\w+ /m);
  expect(run.stdout).toContain('tensors after each generation from warm-up on: constant');
  expect(run.stdout).toContain('open files: constant');
  expect(run.code).toBe(0);
}, 120_000);

describeOnWebgpu('sag bench soak on webgpu', () => {
  test('GPU memory flat too (recorded executor)', async () => {
    const run = await runCli([
      'bench',
      'soak',
      '--generations',
      '24',
      '--every',
      '10',
      '--backend',
      'webgpu',
    ]);
    expect(run.stderr + run.stdout).toContain('GPU memory: constant');
    expect(run.stdout).toContain('tensors after each generation from warm-up on: constant');
    expect(run.code).toBe(0);
  }, 300_000);
});
