import { GENERATE_OPTION_NAMES, GenerateOptionName, GenerateOptions, optionSpec } from './generateOptions';

/** The options as JSON, one key per option (run reports, PNG records). */
export function generateOptionsToJson(o: Partial<GenerateOptions>): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const key of GENERATE_OPTION_NAMES)
    if (o[key] !== undefined) json[key] = optionSpec(key).toJson(o[key] as never);
  return json;
}

/**
 * Options from their JSON form (a PNG record, a sag.json's `defaults`); `source` names where they came from in
 * errors, e.g. `--from a.png` or `sag.json defaults`.
 */
export function generateOptionsFromJson(json: unknown, source: string): Partial<GenerateOptions> {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${source}: expected an object of generation options, got ${JSON.stringify(json)}`);
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (!(GENERATE_OPTION_NAMES as string[]).includes(key))
      throw new Error(`${source}: '${key}' is not a generation option of this sag version`);
    try {
      options[key] = optionSpec(key as GenerateOptionName).fromJson(value);
    } catch (e) {
      throw new Error(`${source}: ${key}: ${(e as Error).message}`);
    }
  }
  return options as Partial<GenerateOptions>;
}
