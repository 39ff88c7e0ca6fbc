import { FusedOpChoice } from '../../converters/graph/fusedOps';
import { UnetBenchRow, unetTimedRow } from './unetBench';
import { BenchVariant, TimedRow, VariantsBenchRow, runVariantsBench } from './variantsBench';

export interface FusedOpsBenchOptions {
  /** The fused-op choices compared, the baseline first (e.g. groupnorm, all). */
  choices: FusedOpChoice[];
  backend: string;
  scale: number;
  latent: number;
  n: number;
  rounds: number;
  repeats: number;
  sagCommand?: string[];
  onRun?: (variant: BenchVariant, round: number, rows: TimedRow[]) => void;
}

/**
 * `sag bench unet` (its SD-architecture UNet, symplectic SAG with the VJP graph) once per `--fused-ops` choice, each in
 * its own process, taking turns: what fusing a kind of layer into one op changes, in time and peak memory.
 */
export function runFusedOpsBench(options: FusedOpsBenchOptions): Promise<VariantsBenchRow[]> {
  return runVariantsBench<{ rows: UnetBenchRow[] }>({
    variants: options.choices.map((choice) => ({ label: choice, args: ['--fused-ops', choice] })),
    args: [
      'bench',
      'unet',
      '--json',
      '--backend',
      options.backend,
      '--scale',
      String(options.scale),
      '--latent',
      String(options.latent),
      '--n',
      String(options.n),
      '--methods',
      'symplectic',
      '--repeats',
      String(options.repeats),
    ],
    rounds: options.rounds,
    sagCommand: options.sagCommand,
    rowsOf: (result) => result.rows.map(unetTimedRow),
    onRun: options.onRun,
  });
}
