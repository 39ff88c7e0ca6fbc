import * as tf from '@tensorflow/tfjs';
import { NoiseSchedule } from '../schedule/noiseSchedule';
import { MainSampler, SamplerState, SamplerStepResult, predictX0 } from './mainSampler';
import { TimestepSpacing, inferenceTimesteps } from './timestepSpacing';

/**
 * diffusers' DDIMScheduler with eta = 0 (deterministic), on eps (the denoiser turns v or x0 predictions into eps
 * first); the config's timestep_spacing (default 'leading'), steps_offset and set_alpha_to_one; with `clip_sample` the predicted
 * clean sample is clamped (the noise direction keeps the model's eps, as diffusers does by default).
 */
export class DdimSampler implements MainSampler {
  readonly name = 'ddim';
  readonly timesteps: readonly number[];
  private readonly stepRatio: number;

  constructor(
    private readonly schedule: NoiseSchedule,
    steps: number,
    spacing: TimestepSpacing = schedule.config.timestepSpacing ?? 'leading',
  ) {
    const n = schedule.numTrainTimesteps;
    this.timesteps = inferenceTimesteps(spacing, n, steps, schedule.config.stepsOffset);
    this.stepRatio = Math.floor(n / steps);
  }

  abarAt(i: number): number {
    return this.schedule.abar(this.timesteps[i]);
  }

  abarNext(i: number): number {
    const prev = this.timesteps[i] - this.stepRatio;
    if (prev >= 0) return this.schedule.abar(prev);
    return this.schedule.config.setAlphaToOne ? 1 : this.schedule.abar(0);
  }

  initialState(): SamplerState {
    return { previousX0: null, lowerOrderNums: 0 };
  }

  step(eps: tf.Tensor, i: number, sample: tf.Tensor, _state: SamplerState): SamplerStepResult {
    const abarPrev = this.abarNext(i);
    const prevSample = tf.tidy(() => {
      const config = this.schedule.config;
      const predicted = predictX0(sample, eps, this.abarAt(i));
      const x0 = config.clipSample
        ? tf.clipByValue(predicted, -config.clipSampleRange, config.clipSampleRange)
        : predicted;
      return tf.add(tf.mul(x0, Math.sqrt(abarPrev)), tf.mul(eps, Math.sqrt(1 - abarPrev)));
    });
    return { prevSample, state: { previousX0: null, lowerOrderNums: 0 } };
  }
}
