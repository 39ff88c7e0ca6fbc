import { execFileSync } from 'child_process';
import * as path from 'path';

/**
 * Jest global setup: asks Dawn, in a child process (so that jest's own process never loads the GPU driver),
 * whether a WebGPU adapter exists, and tells the test files through SAG_WEBGPU_ADAPTER. Prints one line either
 * way, so a log shows whether the webgpu suites ran.
 */
export default function probeWebgpu(): void {
  if (process.env.SAG_WEBGPU_ADAPTER !== undefined) return;
  const root = path.join(__dirname, '..', '..');
  const script = `
    const { startWebgpuBackend } = require('./lib/backend/webgpuBackend');
    startWebgpuBackend(true).then((r) => {
      process.stdout.write(JSON.stringify(r.ok ? { adapter: r.adapter.description } : { reason: r.reason }));
      process.exit(0);
    });`;
  let result: { adapter?: string; reason?: string };
  try {
    const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    result = JSON.parse(out) as typeof result;
  } catch (error) {
    result = { reason: `the probe failed: ${(error as Error).message.split('\n')[0]}` };
  }
  process.env.SAG_WEBGPU_ADAPTER = result.adapter ?? '';
  process.stdout.write(
    result.adapter
      ? `\nwebgpu suites: running on ${result.adapter}\n`
      : `\nwebgpu suites: SKIPPED (${result.reason}). To run them, install a Vulkan driver; without a GPU, Mesa's lavapipe >= 23 (.ci/run installs it: see README, Development)\n`,
  );
}
