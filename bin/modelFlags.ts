import * as path from 'path';
import { parseBackendChoice } from '../lib/backend';
import { Pipeline } from '../lib/pipeline/pipeline';

/** The model directories commands take as flags (`--model`, `--clip`, ...), named as Pipeline.load names them. */
const MODEL_FLAGS = ['model', 'vae', 'controlnet', 'clip', 'arcface', 'classifier'] as const;

type ModelFlags = { [K in (typeof MODEL_FLAGS)[number]]?: string };

/** The pipeline a command's model flags name, on its `--backend`. */
export function loadPipelineFromFlags(
  flags: ModelFlags & { backend: string },
  options: { announceBackend?: boolean } = {},
): Promise<Pipeline> {
  const models: ModelFlags = {};
  for (const name of MODEL_FLAGS) if (flags[name] !== undefined) models[name] = flags[name];
  return Pipeline.load({ ...models, backend: parseBackendChoice(flags.backend), ...options });
}

/** The model flags given, as arguments for another sag process (paths made absolute). */
export function modelFlagArguments(flags: ModelFlags): string[] {
  return MODEL_FLAGS.flatMap((name) =>
    flags[name] !== undefined ? [`--${name}`, path.resolve(flags[name] as string)] : [],
  );
}
