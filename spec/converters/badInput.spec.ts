import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { convertClip } from '../../converters/clip/convertClip';
import { convertArcface } from '../../converters/onnx/convertArcface';
import { ONNX_PROTO } from '../../converters/onnx/onnxSchema';
import { convertStableDiffusion } from '../../converters/sd/convertStableDiffusion';
import { repoFixtureDir } from '../helpers/fixtures';
import { runCli } from '../helpers/runCli';
import { copyDir, makeTempDir } from '../helpers/tempDir';

const options = { dtype: 'float32' as const };
let tmp: string;

beforeEach(() => {
  tmp = makeTempDir('convert-bad');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Nothing was left behind: neither the output directory nor a temporary sibling. */
function expectNoOutput(out: string): void {
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith(path.basename(out)))).toEqual([]);
}

test('a CLIP directory given to convert sd', async () => {
  const out = path.join(tmp, 'out');
  await expect(
    convertStableDiffusion(path.join(repoFixtureDir(), 'clip-tiny'), out, options),
  ).rejects.toThrow(
    /clip-tiny: this is a transformers CLIP directory, not Stable Diffusion \(use 'sag convert clip'\)/,
  );
  expectNoOutput(out);
});

test('a Stable Diffusion directory given to convert clip', async () => {
  const out = path.join(tmp, 'out');
  await expect(convertClip(path.join(repoFixtureDir(), 'sd-tiny'), out, options)).rejects.toThrow(
    /use 'sag convert sd'/,
  );
  expectNoOutput(out);
});

test('a missing directory and a directory missing a component', async () => {
  await expect(
    convertStableDiffusion(path.join(tmp, 'nope'), path.join(tmp, 'out'), options),
  ).rejects.toThrow(/nope: directory not found/);
  const partial = path.join(tmp, 'sd');
  copyDir(path.join(repoFixtureDir(), 'sd-tiny'), partial);
  fs.rmSync(path.join(partial, 'vae'), { recursive: true });
  await expect(convertStableDiffusion(partial, path.join(tmp, 'out'), options)).rejects.toThrow(
    /sd: not a diffusers Stable Diffusion directory \(missing vae\/config.json\)/,
  );
});

test('a truncated safetensors file fails naming the file, with no partial output', async () => {
  const sd = path.join(tmp, 'sd');
  copyDir(path.join(repoFixtureDir(), 'sd-tiny'), sd);
  const file = path.join(sd, 'vae', 'diffusion_pytorch_model.safetensors');
  fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
  const out = path.join(tmp, 'out');
  await expect(convertStableDiffusion(sd, out, options)).rejects.toThrow(`${file}: truncated file`);
  expectNoOutput(out);
});

test('a missing safetensors file', async () => {
  const sd = path.join(tmp, 'sd');
  copyDir(path.join(repoFixtureDir(), 'sd-tiny'), sd);
  fs.rmSync(path.join(sd, 'unet', 'diffusion_pytorch_model.safetensors'));
  await expect(convertStableDiffusion(sd, path.join(tmp, 'out'), options)).rejects.toThrow(
    /unet: no diffusion_pytorch_model.safetensors, model.safetensors, diffusion_pytorch_model.bin, model.bin or sharded index found/,
  );
});

test('unsupported config values are named', async () => {
  const sd = path.join(tmp, 'sd');
  copyDir(path.join(repoFixtureDir(), 'sd-tiny'), sd);
  const configFile = path.join(sd, 'unet', 'config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  fs.writeFileSync(configFile, JSON.stringify({ ...config, resnet_time_scale_shift: 'scale_shift' }));
  await expect(convertStableDiffusion(sd, path.join(tmp, 'out'), options)).rejects.toThrow(
    /config.json: unsupported resnet_time_scale_shift "scale_shift", expected null or "default"/,
  );
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      ...config,
      down_block_types: ['SimpleDown', 'DownBlock2D', 'DownBlock2D', 'DownBlock2D'],
    }),
  );
  await expect(convertStableDiffusion(sd, path.join(tmp, 'out'), options)).rejects.toThrow(
    /unsupported down block type 'SimpleDown'/,
  );
});

function writeOnnxWithOp(file: string, opType: string): void {
  const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  const Model = root.lookupType('onnx.ModelProto');
  const message = Model.fromObject({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ name: 'weird_node', op_type: opType, input: ['x'], output: ['y'] }],
      input: [
        {
          name: 'x',
          type: {
            tensor_type: {
              elem_type: 1,
              shape: { dim: [{ dim_value: 1 }, { dim_value: 3 }, { dim_value: 8 }, { dim_value: 8 }] },
            },
          },
        },
      ],
      output: [{ name: 'y', type: { tensor_type: { elem_type: 1 } } }],
    },
  });
  fs.writeFileSync(file, Model.encode(message).finish());
}

test('an unsupported ONNX op names the op and its node; nothing is written', async () => {
  const file = path.join(tmp, 'model.onnx');
  writeOnnxWithOp(file, 'LSTM');
  const out = path.join(tmp, 'out');
  await expect(convertArcface(file, out, options)).rejects.toThrow(
    /model.onnx: unsupported ONNX op LSTM in node 'weird_node'/,
  );
  expectNoOutput(out);
});

test('a file that is not ONNX', async () => {
  const file = path.join(tmp, 'model.onnx');
  fs.writeFileSync(file, 'definitely not protobuf \u00ff\u00fe');
  await expect(convertArcface(file, path.join(tmp, 'out'), options)).rejects.toThrow(
    /model.onnx: not a valid ONNX model/,
  );
});

test('the CLI prints one error line and exits with code 2', async () => {
  const out = path.join(tmp, 'out');
  const run = await runCli(['convert', 'sd', path.join(repoFixtureDir(), 'clip-tiny'), '--out', out]);
  expect(run.code).toBe(2);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^sag: error: .*clip-tiny: this is a transformers CLIP directory/);
  expectNoOutput(out);
  const missingOut = await runCli([
    'convert',
    'arcface',
    path.join(repoFixtureDir(), 'arcface-tiny', 'model.onnx'),
  ]);
  expect(missingOut.code).toBe(2);
  expect(missingOut.stderr).toMatch(/required option '--out <dir>' not specified/);
});

test("convert --overwrite replaces a model sag converted, never a folder of the user's", async () => {
  const onnx = path.join(repoFixtureDir(), 'arcface-tiny', 'model.onnx');
  const mine = path.join(tmp, 'mine');
  fs.mkdirSync(mine);
  fs.writeFileSync(path.join(mine, 'mydata.csv'), 'a,b\n');
  const refused = await runCli(['convert', 'arcface', onnx, '--out', mine, '--overwrite']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/^sag: error: --out .*mine: was not written by sag/);
  expect(fs.readdirSync(mine)).toEqual(['mydata.csv']);

  const out = path.join(tmp, 'arcface');
  expect((await runCli(['convert', 'arcface', onnx, '--out', out])).code).toBe(0);
  const again = await runCli(['convert', 'arcface', onnx, '--out', out]);
  expect(again.stderr).toMatch(/already exists \(pass --overwrite/);
  expect((await runCli(['convert', 'arcface', onnx, '--out', out, '--overwrite'])).code).toBe(0);
  expect(fs.readdirSync(out)).toContain('sag.json');
  expect(fs.readdirSync(tmp).sort()).toEqual(['arcface', 'mine']);
});
