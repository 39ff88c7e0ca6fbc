import { Command } from 'commander';
import { packageVersion } from '../lib/packageRoot';
import { BAD_INPUT_EXIT_CODE } from './cliErrors';
import { benchAdjointCommand } from './commands/benchAdjoint';
import { benchConvCommand } from './commands/benchConv';
import { benchVjpCommand } from './commands/benchVjp';
import { benchConvertChildCommand, benchConvertCommand } from './commands/benchConvert';
import { benchGuidanceCommand } from './commands/benchGuidance';
import { benchPytorchCommand } from './commands/benchPytorch';
import { benchFusedCommand } from './commands/benchFused';
import { benchNativeCommand } from './commands/benchNative';
import { benchThreadsCommand } from './commands/benchThreads';
import { benchUnetCommand } from './commands/benchUnet';
import { benchSoakCommand } from './commands/benchSoak';
import { convertCommand } from './commands/convert';
import { evalEstimateCommand } from './commands/evalEstimate';
import { evalGuidanceCommand } from './commands/evalGuidance';
import { generateCommand, stylizeCommand } from './commands/generate';
import { infoCommand } from './commands/info';
import { serveCommand } from './commands/serve';
import { frameJobsCommand } from './commands/frameJobs';
import { stylizeVideoCommand } from './commands/stylizeVideo';

/** The `sag` command tree (built fresh on each call, so tests can parse argument lists in-process). */
export function buildProgram(): Command {
  const program = new Command('sag')
    .description('Symplectic Adjoint Guidance: training-free guided diffusion sampling on TensorFlow.js')
    .version(packageVersion());
  program.addCommand(
    new Command('bench')
      .description('benchmarks that print a table')
      .addCommand(benchAdjointCommand())
      .addCommand(benchSoakCommand())
      .addCommand(benchConvCommand())
      .addCommand(benchVjpCommand())
      .addCommand(benchConvertCommand())
      .addCommand(benchGuidanceCommand())
      .addCommand(benchNativeCommand())
      .addCommand(benchFusedCommand())
      .addCommand(benchPytorchCommand())
      .addCommand(benchThreadsCommand())
      .addCommand(benchUnetCommand())
      .addCommand(benchConvertChildCommand(), { hidden: true }),
  );
  program.addCommand(
    new Command('eval')
      .description(
        "the paper's claims measured on a model: tables (JSON, CSV, Markdown), plots, sample grids",
      )
      .addCommand(evalEstimateCommand())
      .addCommand(evalGuidanceCommand()),
  );
  program.addCommand(generateCommand());
  program.addCommand(stylizeCommand());
  program.addCommand(stylizeVideoCommand());
  program.addCommand(frameJobsCommand(), { hidden: true });
  program.addCommand(convertCommand());
  program.addCommand(infoCommand());
  program.addCommand(serveCommand());
  exitWithBadInputCode(program);
  return program;
}

/**
 * Commander says `option '--steps <T>' argument '0' is invalid. --steps: expected ...`; sag's parsers already name
 * the flag and the value, so only their part is kept: `--steps: expected ..., got '0'`.
 */
function withoutRepeatedFlag(text: string): string {
  const match = /^error: option '(--[\w-]+)[^']*' argument '.*' is invalid\. (\1: .*)$/s.exec(text);
  return match ? `error: ${match[2]}` : text;
}

/**
 * Usage errors exit with code 2 and print as every other error does (`sag: error: ...`), at every level of the
 * tree (addCommand does not pass exitOverride or configureOutput on).
 */
function exitWithBadInputCode(command: Command): void {
  command.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : BAD_INPUT_EXIT_CODE));
  command.configureOutput({
    outputError: (text, write) =>
      write(text.startsWith('error: ') ? `sag: ${withoutRepeatedFlag(text)}` : text),
  });
  for (const sub of command.commands) exitWithBadInputCode(sub);
}
