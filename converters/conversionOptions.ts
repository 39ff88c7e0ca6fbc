import { FusedOps } from './graph/fusedOps';

export interface ConversionOptions {
  /** Storage of float weights (computation is always float32). */
  dtype: 'float32' | 'float16';
  overwrite?: boolean;
  /** Print an op histogram per graph. */
  verbose?: boolean;
  log?: (line: string) => void;
  /** Also write VJP graphs for the networks guidance differentiates (default true). */
  vjpGraphs?: boolean;
  /** sag's fused ops, GroupNorm (+SiLU) and attention (default: all); false: primitive ops any tfjs program runs. */
  fusedOps?: FusedOps;
}
