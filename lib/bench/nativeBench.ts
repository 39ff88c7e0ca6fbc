import { NATIVE_BLAS_VARIABLE } from '../backend/nativeBlas';
import { UnetBenchRow, unetTimedRow } from './unetBench';
import { BenchVariant, TimedRow, VariantsBenchRow, runVariantsBench } from './variantsBench';
import { VjpBenchRow } from './vjpBench';

export interface NativeBenchOptions {
  /**
   * Threads of both variants (XNNPACK's without native kernels, the BLAS library's with them); undefined: each its
   * default (XNNPACK on every core, BLAS on half the logical cores).
   */
  threads?: number;
  rounds: number;
  repeats: number;
  batch: number;
  n: number;
  /** A converted model directory for `sag bench vjp` (default: the embedded digit model). */
  model?: string;
  /** Instead: `sag bench unet`'s SD-architecture UNet at this channel scale and latent size. */
  unet?: { scale: number; latent: number };
  sagCommand?: string[];
  onRun?: (variant: BenchVariant, round: number, rows: TimedRow[]) => void;
}

const WASM_KERNELS = 'wasm kernels';
const NATIVE_KERNELS = 'native kernels';

/** The baseline first (wasm's own kernels), then sag's native kernels; both with `threads` threads. */
function variants(threads: number | undefined): BenchVariant[] {
  const env: Record<string, string> = threads === undefined ? {} : { SAG_WASM_THREADS: String(threads) };
  return [
    { label: WASM_KERNELS, env: { ...env, [NATIVE_BLAS_VARIABLE]: '0' } },
    { label: NATIVE_KERNELS, env },
  ];
}

interface BenchJson<Row> {
  backend: string;
  rows: Row[];
}

/** Checks that a run used the kernels its variant asked for (the backend line names the BLAS library). */
function checkBackend(backend: string, variant: BenchVariant): void {
  const native = backend.includes('conv/matmul:');
  if (native !== (variant.label === NATIVE_KERNELS))
    throw new Error(`the '${variant.label}' run started ${backend}`);
}

export const NATIVE_BENCH_LABELS = [WASM_KERNELS, NATIVE_KERNELS];

/**
 * The same benchmark on wasm with its own Conv2D/BatchMatMul/GroupNorm kernels and with sag's native ones
 * (OpenBLAS or another BLAS through native/sag_blas.c), each run in its own process, taking turns.
 */
export function runNativeBench(options: NativeBenchOptions): Promise<VariantsBenchRow[]> {
  const { unet } = options;
  const benchmark = unet
    ? ['unet', '--scale', String(unet.scale), '--latent', String(unet.latent), '--methods', 'symplectic']
    : ['vjp', '--batch', String(options.batch), ...(options.model ? ['--model', options.model] : [])];
  return runVariantsBench<BenchJson<UnetBenchRow | VjpBenchRow>>({
    variants: variants(options.threads),
    args: [
      'bench',
      ...benchmark,
      '--json',
      '--backend',
      'wasm',
      '--repeats',
      String(options.repeats),
      '--n',
      String(options.n),
    ],
    rounds: options.rounds,
    sagCommand: options.sagCommand,
    rowsOf: (result, variant) => {
      checkBackend(result.backend, variant);
      return unet ? (result.rows as UnetBenchRow[]).map(unetTimedRow) : (result.rows as VjpBenchRow[]);
    },
    onRun: options.onRun,
  });
}
