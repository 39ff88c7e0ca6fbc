#!/usr/bin/env node
import { Command } from 'commander';
import { BAD_INPUT_EXIT_CODE } from './cliErrors';
import { benchAdjointCommand } from './commands/benchAdjoint';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

const program = new Command('sag')
  .description('Symplectic Adjoint Guidance: training-free guided diffusion sampling on TensorFlow.js')
  .version(version)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : BAD_INPUT_EXIT_CODE));

program.addCommand(
  new Command('bench').description('benchmarks that print a table').addCommand(benchAdjointCommand()),
);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`sag: error: ${e.message}\n`);
  process.exit(BAD_INPUT_EXIT_CODE);
});
