import { Command, Option } from 'commander';
import { FUSED_OP_CHOICES, FusedOpChoice, FusedOps, fusedOpsOfChoice } from '../converters/graph/fusedOps';

/** `--fused-ops <which>` and `--no-fused-ops`: which layers a converted graph has as sag's fused ops. */
export function withFusedOpsFlags(command: Command, what: string): Command {
  return command
    .addOption(
      new Option(
        '--fused-ops <which>',
        `${what} with sag's fused ops: GroupNorm (+SiLU) and attention as one node each (all), one kind only, or none`,
      )
        .choices([...FUSED_OP_CHOICES])
        .default('all'),
    )
    .option(
      '--no-fused-ops',
      'the same as --fused-ops none: primitive ops only (a graph any TensorFlow.js program can run; more kernel launches)',
    );
}

/** The parsed flag (a choice, or false from --no-fused-ops; absent: all) as the converters' option. */
export function fusedOpsOfFlag(flag: FusedOpChoice | false | undefined): FusedOps {
  return flag === false ? false : fusedOpsOfChoice(flag ?? 'all');
}
