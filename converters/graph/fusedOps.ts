/** Which of sag's fused ops a converter writes (lib/kernels); the rest are written as primitive ops. */
export interface FusedOpSet {
  /** GroupNorm (+SiLU) as one SagGroupNorm node. */
  groupNorm: boolean;
  /** Multi-head attention without a mask as one SagAttention node. */
  attention: boolean;
}

/** true: all fused ops (the default); false: primitive ops only (a graph any tfjs program can run). */
export type FusedOps = boolean | FusedOpSet;

export const FUSED_OP_CHOICES = ['all', 'groupnorm', 'attention', 'none'] as const;
export type FusedOpChoice = (typeof FUSED_OP_CHOICES)[number];

export function fusedOpSet(fused: FusedOps | undefined): FusedOpSet {
  if (typeof fused === 'object') return fused;
  const all = fused ?? true;
  return { groupNorm: all, attention: all };
}

/** A command-line choice ('all', 'groupnorm', 'attention', 'none') as the set it names. */
export function fusedOpsOfChoice(choice: FusedOpChoice): FusedOpSet {
  return {
    groupNorm: choice === 'all' || choice === 'groupnorm',
    attention: choice === 'all' || choice === 'attention',
  };
}
