export interface ConversionOptions {
  /** Storage of float weights (computation is always float32). */
  dtype: 'float32' | 'float16';
  overwrite?: boolean;
  /** Print an op histogram per graph. */
  verbose?: boolean;
  log?: (line: string) => void;
  /** Also write VJP graphs for the networks guidance differentiates (default true). */
  vjpGraphs?: boolean;
  /** GroupNorm (+SiLU) as sag's fused op, one node (default true); false: primitive ops any tfjs program runs. */
  fusedOps?: boolean;
}
