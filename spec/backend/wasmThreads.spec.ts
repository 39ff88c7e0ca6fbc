import { spawnSync } from 'child_process';
import * as path from 'path';
import { wasmThreadCount } from '../../lib/backend';
import { relativeL2 } from '../helpers/relativeError';

interface ProbeResult {
  backend: string;
  threads: number;
  gradient: number[];
}

/**
 * Runs the probe script in its own Node process (each process starts wasm once) with the given thread count, on
 * XNNPACK's kernels only (native matrix products would take the threads: nativeMatrixProducts.spec.ts).
 */
function probe(threads: number): ProbeResult {
  const script = path.join(__dirname, '..', 'helpers', 'wasmThreadsProbe.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, String(threads)], {
    encoding: 'utf8',
    timeout: 110_000,
    env: { ...process.env, SAG_NATIVE_BLAS: '0' },
  });
  if (run.status !== 0) throw new Error(`probe with ${threads} threads failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as ProbeResult;
}

describe('wasm with XNNPACK threads under Node', () => {
  test('2 threads start (the process exits by itself) and give the SAG gradient of 1 thread', () => {
    const single = probe(1);
    const threaded = probe(2);
    expect(single.threads).toBe(1);
    expect(threaded.threads).toBe(2);
    expect(threaded.backend).toBe('wasm (XNNPACK, 2 threads)');
    expect(threaded.gradient).toHaveLength(single.gradient.length);
    expect(relativeL2(threaded.gradient, single.gradient)).toBeLessThan(1e-6);
  });

  test('the thread count comes from the option, else $SAG_WASM_THREADS, and is checked', () => {
    const saved = process.env.SAG_WASM_THREADS;
    try {
      process.env.SAG_WASM_THREADS = '3';
      expect(wasmThreadCount()).toBe(3);
      expect(wasmThreadCount(2)).toBe(2);
      process.env.SAG_WASM_THREADS = 'many';
      expect(() => wasmThreadCount()).toThrow(
        '$SAG_WASM_THREADS: expected a whole number of threads from 1 to 8, got "many"',
      );
      expect(() => wasmThreadCount(9)).toThrow(
        'wasmThreads: expected a whole number of threads from 1 to 8, got 9',
      );
      delete process.env.SAG_WASM_THREADS;
      expect(wasmThreadCount()).toBeGreaterThanOrEqual(1);
    } finally {
      if (saved === undefined) delete process.env.SAG_WASM_THREADS;
      else process.env.SAG_WASM_THREADS = saved;
    }
  });
});
