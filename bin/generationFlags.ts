import { Command, InvalidArgumentError, Option } from 'commander';
import {
  GENERATE_OPTION_NAMES,
  GenerateOptionName,
  GenerateOptions,
  optionSpec,
} from '../lib/options/generateOptions';

/** The flag of a generation option: `rhoScale` -> `--rho-scale` (commander maps it back to the same key). */
export function flagOf(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export interface GenerationFlagsConfig {
  /** Options that have no flag on this command (set by its preset instead). */
  omit?: GenerateOptionName[];
  /** Only these options get flags (commands that use a few of them). */
  only?: GenerateOptionName[];
  /** The command's own defaults, shown in help instead of sag's. */
  preset?: Partial<GenerateOptions>;
  /** Help text of a default that is not one value (e.g. a window that follows --steps). */
  defaultNotes?: Partial<Record<GenerateOptionName, string>>;
}

/**
 * Adds one flag per generation option, derived from GENERATE_OPTION_SPECS: name, value placeholder, help, default
 * and the parser of the CLI's text. Defaults are shown, not set: a value left unset can still come from the
 * command's preset, a --from record or the model's sag.json.
 */
export function addGenerationFlags(command: Command, config: GenerationFlagsConfig = {}): Command {
  for (const name of GENERATE_OPTION_NAMES) {
    if (config.omit?.includes(name) || (config.only && !config.only.includes(name))) continue;
    const spec = optionSpec(name);
    const flag = flagOf(name);
    const shownDefault =
      config.defaultNotes?.[name] ??
      spec.show((config.preset?.[name] ?? spec.default) as GenerateOptions[typeof name] as never);
    const variadic = spec.valueName.endsWith('...>');
    const parse = (text: string, previous: unknown) => {
      let value: unknown;
      try {
        value = spec.parse(text);
      } catch (e) {
        throw new InvalidArgumentError(`${flag}: ${(e as Error).message}`);
      }
      return variadic ? [...((previous as unknown[] | undefined) ?? []), ...(value as unknown[])] : value;
    };
    command.addOption(
      new Option(`${flag} ${spec.valueName}`, `${spec.help} (default: ${shownDefault})`).argParser(parse),
    );
  }
  return command;
}

/** The generation options among parsed flags (the keys are the same); unset ones are absent. */
export function generationOptionsOf(flags: Record<string, unknown>): Partial<GenerateOptions> {
  const options: Record<string, unknown> = {};
  for (const name of GENERATE_OPTION_NAMES) if (flags[name] !== undefined) options[name] = flags[name];
  return options as Partial<GenerateOptions>;
}
