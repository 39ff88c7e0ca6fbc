/**
 * LDM training checkpoints keep an exponential moving average of the UNet under `model_ema.`, each name flattened by
 * dropping its dots: `model.diffusion_model.input_blocks.1.1.proj_in.weight` is stored as
 * `model_ema.diffusion_modelinput_blocks11proj_inweight`. These functions go both ways.
 */

/** The EMA name of an LDM UNet tensor (`model.diffusion_model.<rest>`). */
export function emaName(ldm: string): string {
  return `model_ema.${ldm.slice('model.'.length).replace(/\./g, '')}`;
}

/** The segments of LDM UNet names, longest first so that `proj_out` is not read as `proj` + `_out`. */
const WORDS = [
  'transformer_blocks',
  'skip_connection',
  'output_blocks',
  'input_blocks',
  'middle_block',
  'emb_layers',
  'out_layers',
  'time_embed',
  'in_layers',
  'label_emb',
  'proj_out',
  'proj_in',
  'to_out',
  'weight',
  'attn1',
  'attn2',
  'norm1',
  'norm2',
  'norm3',
  'bias',
  'conv',
  'norm',
  'proj',
  'to_k',
  'to_q',
  'to_v',
  'net',
  'out',
  'ff',
  'op',
].sort((a, b) => b.length - a.length);

/**
 * The structured name (`model.diffusion_model.<rest>`) of a flattened EMA UNet name, or null when it is not one.
 * Indices are digit runs, except after `input_blocks` / `output_blocks`, where the run is the block index followed
 * by the one-digit part index.
 */
export function structuredEmaName(flat: string): string | null {
  const prefix = 'model_ema.diffusion_model';
  if (!flat.startsWith(prefix)) return null;
  const rest = flat.slice(prefix.length);
  const segments: string[] = [];
  let i = 0;
  while (i < rest.length) {
    const digits = /^\d+/.exec(rest.slice(i));
    if (digits) {
      const run = digits[0];
      const previous = segments[segments.length - 1];
      if ((previous === 'input_blocks' || previous === 'output_blocks') && run.length >= 2) {
        segments.push(run.slice(0, -1), run.slice(-1));
      } else {
        segments.push(run);
      }
      i += run.length;
      continue;
    }
    const word = WORDS.find((w) => rest.startsWith(w, i));
    if (!word) return null;
    segments.push(word);
    i += word.length;
  }
  return `model.diffusion_model.${segments.join('.')}`;
}
