import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { appendUnetVjpGraph, writeUnetGraph } from '../../converters/sd/convertStableDiffusion';
import { convertControlNet } from '../../converters/sd/convertControlNet';
import { parseUnetConfig } from '../../converters/sd/unetGraph';
import { SafetensorsFile } from '../../lib/io/safetensors';
import { ControlNetModel, residualFeeds } from '../../lib/models/controlNetModel';
import { ConvertedGraph } from '../../lib/models/convertedGraph';
import { toNhwc } from '../helpers/layout';
import { relativeL2 } from '../helpers/relativeError';
import { makeTempDir } from '../helpers/tempDir';
import { useTestBackend } from '../helpers/testBackend';

/**
 * A tiny random ControlNet and its UNet against diffusers' own ControlNetModel and UNet2DConditionModel (references
 * made by spec/fixtures/controlnet/make_controlnet.py): the residuals, the UNet output with them, and the VJP of
 * that output w.r.t. the latent through both networks.
 */
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'controlnet');
const TOLERANCE = 1e-4;

let tmp: string;
let unet: ConvertedGraph;
let controlnet: ControlNetModel;
let file: SafetensorsFile;
const read = (key: string) => tf.tidy(() => toNhwc(file.readTensor(key)));

beforeAll(async () => {
  await useTestBackend();
  tmp = makeTempDir('controlnet');
  const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'unet', 'config.json'), 'utf8'));
  await writeUnetGraph(path.join(FIXTURE, 'unet'), path.join(tmp, 'unet'), parseUnetConfig(config, 'unet'), {
    dtype: 'float32',
  });
  await appendUnetVjpGraph(path.join(tmp, 'unet'), parseUnetConfig(config, 'unet'), 7, (line) => {
    throw new Error(line);
  });
  unet = await ConvertedGraph.load(path.join(tmp, 'unet'));
  const manifest = await convertControlNet(path.join(FIXTURE, 'controlnet'), path.join(tmp, 'controlnet'), {
    dtype: 'float32',
  });
  expect(manifest.residualChannels).toEqual({ down: [8, 8, 8, 16], mid: 16 });
  expect(manifest.conditionDownscale).toBe(2);
  controlnet = await ControlNetModel.load(path.join(tmp, 'controlnet'));
  file = SafetensorsFile.open(path.join(FIXTURE, 'case.safetensors'));
});

afterAll(() => {
  unet?.dispose();
  controlnet?.dispose();
  file?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** eps with ControlNet for latents x (the fixture's other inputs). */
function controlledEps(x: tf.Tensor): tf.Tensor {
  const [timestep, context, condition] = [
    read('timestep'),
    read('encoder_hidden_states'),
    read('controlnet_cond'),
  ];
  const scale = (file.readFloat32('conditioning_scale') as Float32Array)[0];
  const residuals = controlnet.residuals(x, timestep, context, condition, scale);
  return unet.execute({ sample: x, timestep, encoder_hidden_states: context, ...residualFeeds(residuals) }, [
    'out_controlled',
  ])[0];
}

describe('ControlNet (diffusers ControlNetModel)', () => {
  test(`residuals within ${TOLERANCE} of diffusers`, () => {
    const scale = (file.readFloat32('conditioning_scale') as Float32Array)[0];
    const residuals = controlnet.residuals(
      read('sample'),
      read('timestep'),
      read('encoder_hidden_states'),
      read('controlnet_cond'),
      scale,
    );
    residuals.down.forEach((r, i) => expect(relativeL2(r, read(`down_${i}`))).toBeLessThan(TOLERANCE));
    expect(relativeL2(residuals.mid, read('mid'))).toBeLessThan(TOLERANCE);
    // The zero convolutions were perturbed: the residuals are not trivially zero.
    expect(tf.norm(residuals.mid).arraySync()).toBeGreaterThan(1e-3);
  });

  test(`the UNet output with the residuals, and its VJP w.r.t. the latent through both, within ${TOLERANCE}`, () => {
    const x = read('sample');
    expect(relativeL2(controlledEps(x), read('out'))).toBeLessThan(TOLERANCE);
    const grad = tf.grad((v: tf.Tensor) => controlledEps(v))(x, read('cotangent'));
    expect(relativeL2(grad, read('grad_sample'))).toBeLessThan(TOLERANCE);
  });

  test('without residuals the UNet is unchanged: out equals out_controlled with zero residuals', () => {
    const inputs = {
      sample: read('sample'),
      timestep: read('timestep'),
      encoder_hidden_states: read('encoder_hidden_states'),
    };
    const plain = unet.execute(inputs, ['out'])[0];
    const residuals = controlnet.residuals(
      inputs.sample,
      inputs.timestep,
      inputs.encoder_hidden_states,
      read('controlnet_cond'),
      0,
    );
    const zero = unet.execute({ ...inputs, ...residualFeeds(residuals) }, ['out_controlled'])[0];
    expect(relativeL2(zero, plain)).toBe(0);
    expect(relativeL2(plain, read('out'))).toBeGreaterThan(1e-3);
  });

  test(`the same VJP by the converter's VJP graphs (UNet with residuals, then ControlNet) within ${TOLERANCE}`, () => {
    expect(unet.vjpGraphOf('sagVjpControlled')).not.toBeNull();
    expect(controlnet.hasVjpGraph).toBe(true);
    const [x, timestep, context, condition] = [
      'sample',
      'timestep',
      'encoder_hidden_states',
      'controlnet_cond',
    ].map(read);
    const scale = (file.readFloat32('conditioning_scale') as Float32Array)[0];
    const residuals = controlnet.residuals(x, timestep, context, condition, scale);
    const [gradSample, ...gradResiduals] = unet.vjpAll(
      'sagVjpControlled',
      { sample: x, timestep, encoder_hidden_states: context, ...residualFeeds(residuals) },
      [read('cotangent')],
    );
    const cotangents = { down: gradResiduals.slice(0, -1), mid: gradResiduals[gradResiduals.length - 1] };
    const through = controlnet.residualsVjp(x, timestep, context, condition, scale, cotangents);
    expect(relativeL2(tf.add(gradSample, through), read('grad_sample'))).toBeLessThan(TOLERANCE);
  });
});
