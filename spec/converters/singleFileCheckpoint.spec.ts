import * as fs from 'fs';
import * as path from 'path';
import {
  convertStableDiffusion,
  convertStableDiffusionSource,
} from '../../converters/sd/convertStableDiffusion';
import {
  inferTextConfig,
  inferUnetConfig,
  inferUnetStructure,
  inferVaeConfig,
} from '../../converters/sd/singleFile/ldmConfigs';
import { ldmClipTextMap } from '../../converters/sd/singleFile/ldmTextNames';
import { ldmUnetMap } from '../../converters/sd/singleFile/ldmUnetNames';
import { ldmVaeMap } from '../../converters/sd/singleFile/ldmVaeNames';
import { RenamedTensorFile } from '../../converters/sd/singleFile/renamedTensorFile';
import { emaName, structuredEmaName } from '../../converters/sd/singleFile/flatEmaNames';
import { convertVae } from '../../converters/sd/convertVae';
import { Pipeline } from '../../lib/pipeline/pipeline';
import { ClipTokenizer } from '../../lib/models/clipTokenizer';
import {
  SingleFileOptions,
  resolveTokenizer,
  shippedClipTokenizer,
  singleFileSource,
} from '../../converters/sd/singleFile/singleFileSource';
import { writeSafetensors } from '../../converters/weights/safetensorsWriter';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { TensorFile } from '../../lib/io/tensorFile';
import { SD_V15_UNET_CONFIG } from '../../converters/bench/sdV15UnetConfig';
import { unetParameterShapes } from '../../converters/sd/unetParameters';
import { parseUnetConfig } from '../../converters/sd/unetGraph';
import { repoFixtureDir } from '../helpers/fixtures';
import { runCli } from '../helpers/runCli';
import { makeTempDir } from '../helpers/tempDir';
import { testBackendName, useTestBackend } from '../helpers/testBackend';

/**
 * sd-tiny written as a single-file checkpoint in the original LDM layout by the key map that diffusers' own
 * conversion script produced (spec/fixtures/single-file/make_ldm_key_map.py), converted by `sag convert sd <file>`,
 * must give the same graph models, byte for byte, as converting the diffusers directory.
 */

const SD_TINY = path.join(repoFixtureDir(), 'sd-tiny');
type Section = 'unet' | 'vae' | 'text_clip' | 'text_open_clip';
type KeyMap = Record<Section, Record<string, { from: string[]; shape: number[] }>>;
const KEY_MAP = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'single-file', 'ldm-key-map.json'), 'utf8'),
) as KeyMap;
const COMPONENT_FILES: Record<Section, string> = {
  unet: 'unet/diffusion_pytorch_model.safetensors',
  vae: 'vae/diffusion_pytorch_model.safetensors',
  text_clip: 'text_encoder/model.safetensors',
  text_open_clip: 'text_encoder/model.safetensors',
};

/** One LDM tensor: its shape and values. */
type LdmTensor = [string, number[], () => Float32Array];

/** The LDM tensors of a section of the key map, read from sd-tiny (text names gain the 'text_model.' prefix). */
function ldmTensors(section: Section): LdmTensor[] {
  const file = SafetensorsFile.open(path.join(SD_TINY, COMPONENT_FILES[section]));
  const read = (name: string) =>
    file.readFloat32(section.startsWith('text') ? name.replace(/^text_model\./, '') : name);
  return Object.entries(KEY_MAP[section]).map(([ldm, { from, shape }]) => [
    ldm,
    shape,
    () => {
      const parts = from.map(read);
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const p of parts) {
        out.set(p, offset);
        offset += p.length;
      }
      return out;
    },
  ]);
}

function writeLdmFile(file: string, tensors: LdmTensor[]): void {
  const byName = new Map(tensors.map(([name, , values]) => [name, values]));
  writeSafetensors(
    file,
    tensors.map(([name, shape]) => [name, shape]),
    (name) => (byName.get(name) as () => Float32Array)(),
  );
}

/** The same tensors with other values (what an option must not pick). */
function garbage(tensors: LdmTensor[]): LdmTensor[] {
  return tensors.map(([name, shape, values]) => [name, shape, () => values().map((v) => v * 3 + 1)]);
}

/** OpenCLIP keeps one more block than diffusers' SD v2 text encoder (which stops at the penultimate one). */
function withExtraOpenClipBlock(tensors: LdmTensor[]): LdmTensor[] {
  const extra = tensors
    .filter(([name]) => name.includes('.resblocks.1.'))
    .map(([name, shape, values]): LdmTensor => [
      name.replace('.resblocks.1.', '.resblocks.2.'),
      shape,
      () => values().map((v) => -v),
    ]);
  return [...tensors, ...extra];
}

let tmp: string;
let reference: string;

beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('single-file');
  reference = path.join(tmp, 'from-diffusers');
  await convertStableDiffusion(SD_TINY, reference, { dtype: 'float32', vjpGraphs: false });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const GRAPHS = ['unet', 'vae_decoder', 'vae_encoder', 'text_encoder'];

/** Every graph model file of `dir` equals the reference's, byte for byte (text encoder names without 'text_model.'). */
function expectSameGraphs(dir: string, graphs = GRAPHS): void {
  for (const graph of graphs) {
    const files = fs.readdirSync(path.join(reference, graph)).sort();
    expect(fs.readdirSync(path.join(dir, graph)).sort()).toEqual(files);
    for (const f of files) {
      const [got, expected] = [dir, reference].map((d) => fs.readFileSync(path.join(d, graph, f)));
      if (f === 'model.json') {
        expect(got.toString().replace(/text_model\./g, '')).toEqual(expected.toString());
      } else {
        expect(got.equals(expected)).toBe(true);
      }
    }
  }
}

async function convertFile(file: string, name: string, options: SingleFileOptions): Promise<string> {
  const out = path.join(tmp, name);
  const source = await singleFileSource(file, options);
  await convertStableDiffusionSource(source, out, { dtype: 'float32', vjpGraphs: false });
  return out;
}

describe('sag convert sd <single file>', () => {
  test('SD v1 layout (CLIP text encoder): the same graph models as from the diffusers directory', async () => {
    const file = path.join(tmp, 'sd-tiny-v1.safetensors');
    writeLdmFile(file, [...ldmTensors('unet'), ...ldmTensors('vae'), ...ldmTensors('text_clip')]);
    const out = await convertFile(file, 'v1', { configDir: SD_TINY });
    expectSameGraphs(out);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'sag.json'), 'utf8')) as { source: string };
    expect(manifest.source).toBe(path.resolve(file));
  });

  test('SD v2 layout (OpenCLIP text encoder, fused q/k/v, one block more): the same text encoder', async () => {
    const file = path.join(tmp, 'sd-tiny-v2.safetensors');
    writeLdmFile(file, [
      ...ldmTensors('unet'),
      ...ldmTensors('vae'),
      ...withExtraOpenClipBlock(ldmTensors('text_open_clip')),
    ]);
    const source = await singleFileSource(file, { configDir: SD_TINY });
    expect(source.kind).toBe('sd-v2');
    const out = path.join(tmp, 'v2');
    await convertStableDiffusionSource(source, out, { dtype: 'float32', vjpGraphs: false });
    expectSameGraphs(out, ['text_encoder', 'unet']);
  });

  test("--ema takes the UNet's EMA copies; a file with only EMA copies uses them by itself", async () => {
    const unet = ldmTensors('unet');
    const ema: LdmTensor[] = unet.map(([name, shape, values]) => [emaName(name), shape, values]);
    const both = path.join(tmp, 'sd-tiny-ema.safetensors');
    writeLdmFile(both, [...garbage(unet), ...ema, ...ldmTensors('vae'), ...ldmTensors('text_clip')]);
    expectSameGraphs(await convertFile(both, 'ema', { configDir: SD_TINY, ema: true }), ['unet']);
    const emaOnly = path.join(tmp, 'sd-tiny-ema-only.safetensors');
    writeLdmFile(emaOnly, [...ema, ...ldmTensors('vae'), ...ldmTensors('text_clip')]);
    const lines: string[] = [];
    expectSameGraphs(
      await convertFile(emaOnly, 'ema-only', { configDir: SD_TINY, log: (l) => lines.push(l) }),
      ['unet'],
    );
    expect(lines.join('\n')).toContain('only EMA weights');
  });

  test('--vae swaps in a VAE-only file (LDM names without a prefix)', async () => {
    const file = path.join(tmp, 'sd-tiny-bad-vae.safetensors');
    writeLdmFile(file, [...ldmTensors('unet'), ...garbage(ldmTensors('vae')), ...ldmTensors('text_clip')]);
    const vaeOnly = path.join(tmp, 'vae-only.safetensors');
    writeLdmFile(
      vaeOnly,
      ldmTensors('vae').map(([name, shape, values]) => [
        name.replace(/^first_stage_model\./, ''),
        shape,
        values,
      ]),
    );
    expectSameGraphs(await convertFile(file, 'vae', { configDir: SD_TINY, vae: vaeOnly }), [
      'vae_decoder',
      'vae_encoder',
    ]);
  });

  test('sag convert vae: a VAE-only file or a diffusers vae/ folder -> the same VAE graphs', async () => {
    const vaeOnly = path.join(tmp, 'vae-only.safetensors');
    for (const [source, name] of [
      [vaeOnly, 'vae-from-file'],
      [path.join(SD_TINY, 'vae'), 'vae-from-folder'],
    ]) {
      const out = path.join(tmp, name);
      // The file's VAE has the sd-tiny config (8 groups), which tensors cannot tell: the folder's config.json says it.
      const manifest = await convertVae(source, out, {
        dtype: 'float32',
        vjpGraphs: false,
        config: path.join(SD_TINY, 'vae', 'config.json'),
      });
      expect(manifest.format).toBe('sag-vae');
      expect(manifest.latentChannels).toBe(4);
      expectSameGraphs(out, ['vae_decoder', 'vae_encoder']);
    }
  });

  test('generate --vae decodes with the given VAE: the same VAE gives the same image, another a different one', async () => {
    const badVae = path.join(tmp, 'bad-vae.safetensors');
    writeLdmFile(
      badVae,
      garbage(ldmTensors('vae')).map(([name, shape, values]) => [
        name.replace(/^first_stage_model\./, ''),
        shape,
        values,
      ]),
    );
    const badOut = path.join(tmp, 'vae-bad');
    await convertVae(badVae, badOut, {
      dtype: 'float32',
      vjpGraphs: false,
      config: path.join(SD_TINY, 'vae', 'config.json'),
    });
    const image = async (vae?: string) => {
      const pipeline = await Pipeline.load({
        model: reference,
        vae,
        backend: testBackendName(),
        announceBackend: false,
      });
      try {
        const result = await pipeline.generate({ prompt: 'a cat', steps: 2, size: [64, 64], seed: 3 });
        const values = await result.images.data();
        result.images.dispose();
        return values;
      } finally {
        pipeline.dispose();
      }
    };
    const plain = await image();
    expect(await image(path.join(tmp, 'vae-from-folder'))).toEqual(plain);
    expect(await image(badOut)).not.toEqual(plain);
    await expect(Pipeline.load({ model: reference, vae: SD_TINY, announceBackend: false })).rejects.toThrow(
      `--vae ${SD_TINY}`,
    );
  });

  test("without --tokenizer or --config, the shipped CLIP tokenizer (the fixtures', SD v1/v2's) is used", () => {
    const dir = resolveTokenizer({});
    expect(dir).toBe(shippedClipTokenizer());
    const shipped = ClipTokenizer.fromDirectory(dir);
    const fixture = ClipTokenizer.fromDirectory(path.join(SD_TINY, 'tokenizer'));
    const text = 'a watercolor painting of a cat, highly detailed';
    expect(shipped.encode(text)).toEqual(fixture.encode(text));
    expect(resolveTokenizer({ tokenizerDir: path.join(SD_TINY, 'tokenizer') })).toBe(
      path.join(SD_TINY, 'tokenizer'),
    );
    expect(() => resolveTokenizer({ tokenizerDir: tmp })).toThrow('not a CLIP tokenizer directory');
  });

  test('flattened EMA names are read back into structured ones', () => {
    for (const [name] of ldmTensors('unet')) expect(structuredEmaName(emaName(name))).toBe(name);
    expect(structuredEmaName('model_ema.decay')).toBeNull();
  });

  test('the architecture read from the tensors matches the configs (where tensors say it)', async () => {
    const file = path.join(tmp, 'sd-tiny-infer.safetensors');
    writeLdmFile(file, [...ldmTensors('unet'), ...ldmTensors('vae'), ...ldmTensors('text_clip')]);
    const config = (component: string) =>
      JSON.parse(fs.readFileSync(path.join(SD_TINY, component, 'config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
    const pick = (raw: Record<string, unknown>, keys: string[]) =>
      Object.fromEntries(keys.map((k) => [k, raw[k]]));
    const checkpoint = SafetensorsFile.open(file);
    try {
      const names = checkpoint.names();
      const unet = new RenamedTensorFile(checkpoint, ldmUnetMap(names, 'model.diffusion_model.'), 'unet');
      const unetKeys = [
        'in_channels',
        'out_channels',
        'block_out_channels',
        'down_block_types',
        'up_block_types',
        'layers_per_block',
        'cross_attention_dim',
        'use_linear_projection',
        'transformer_layers_per_block',
      ];
      expect(pick(inferUnetStructure(unet), unetKeys)).toEqual(pick(config('unet'), unetKeys));
      // sd-tiny is neither SD v1 (768-wide context) nor v2 (64-wide heads): its head counts need --config.
      expect(() => inferUnetConfig(unet, 512)).toThrow(
        'the head counts cannot be read from the tensors; pass --config',
      );
      const vae = new RenamedTensorFile(checkpoint, ldmVaeMap(names, 'first_stage_model.'), 'vae');
      const vaeKeys = [
        'in_channels',
        'out_channels',
        'latent_channels',
        'block_out_channels',
        'layers_per_block',
      ];
      expect(pick(inferVaeConfig(vae, 512), vaeKeys)).toEqual(pick(config('vae'), vaeKeys));
      const text = new RenamedTensorFile(
        checkpoint,
        ldmClipTextMap(names, 'cond_stage_model.transformer.'),
        'text',
      );
      const textKeys = [
        'vocab_size',
        'hidden_size',
        'intermediate_size',
        'num_hidden_layers',
        'max_position_embeddings',
      ];
      expect(pick(inferTextConfig(text, false), textKeys)).toEqual(pick(config('text_encoder'), textKeys));
    } finally {
      checkpoint.close();
    }
  });

  test.each([
    ['SD v1.5', SD_V15_UNET_CONFIG],
    [
      'SD v2.1',
      {
        ...SD_V15_UNET_CONFIG,
        cross_attention_dim: 1024,
        use_linear_projection: true,
        attention_head_dim: [5, 10, 20, 20],
      },
    ],
  ])('the %s UNet config is read back from full-size LDM tensor shapes', (_name, config) => {
    // Names from the LDM key map (SD v1/v2 share sd-tiny's block layout), shapes of the full-size model: no data.
    const shapes = new Map(unetParameterShapes(parseUnetConfig(config, 'config')));
    const ldmShapes = new Map(
      Object.entries(KEY_MAP.unet).map(([ldm, { from }]) => [ldm, shapes.get(from[0]) as number[]]),
    );
    const file: TensorFile = {
      path: 'full-size.safetensors',
      metadata: {},
      names: () => [...ldmShapes.keys()],
      has: (name) => ldmShapes.has(name),
      entry: (name) => ({ shape: ldmShapes.get(name) as number[], dtype: 'F32' }),
      readFloat32: () => {
        throw new Error('shapes only');
      },
      readInt32: () => {
        throw new Error('shapes only');
      },
      close: () => undefined,
    };
    const unet = new RenamedTensorFile(file, ldmUnetMap(file.names(), 'model.diffusion_model.'), 'unet');
    const inferred = inferUnetConfig(unet, config.cross_attention_dim === 768 ? 512 : 768);
    for (const key of Object.keys(config).filter(
      (k) =>
        !k.startsWith('_') && !['center_input_sample', 'mid_block_scale_factor', 'sample_size'].includes(k),
    )) {
      expect([key, inferred[key]]).toEqual([key, (config as Record<string, unknown>)[key] ?? inferred[key]]);
    }
    expect(inferred.sample_size).toBe(config.cross_attention_dim === 768 ? 64 : 96);
  });

  test('bad inputs: one line naming the input and what was expected', async () => {
    const vaeOnly = path.join(tmp, 'only-a-vae.safetensors');
    writeLdmFile(vaeOnly, ldmTensors('vae'));
    let run = await runCli(['convert', 'sd', vaeOnly, '--out', path.join(tmp, 'x1'), '--no-vjp-graph']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${vaeOnly}: no Stable Diffusion UNet in this file`);
    run = await runCli(['convert', 'sd', SD_TINY, '--ema', '--out', path.join(tmp, 'x2'), '--no-vjp-graph']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--ema: only for single-file checkpoints');
    for (const x of ['x1', 'x2']) expect(fs.existsSync(path.join(tmp, x))).toBe(false);
  });
});
