import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../adjoint';
import { makeEstimateProblem } from '../ode/estimateProblem';
import { Denoiser } from '../pipeline/denoiser';
import { SeededNoise } from '../pipeline/seededNoise';
import { MainSampler, SamplerState, disposeSamplerState, predictX0 } from '../samplers';
import { tidyResult } from '../tidyResult';
import { GuidanceSettings } from './guidanceSettings';
import { guidanceStepSize } from './rho';

/** What happened at one (main step, repeat). */
export interface StepRecord {
  step: number;
  timestep: number;
  repeat: number;
  guided: boolean;
  n: number | null;
  loss: number | null;
  rho: number | null;
  /** Wall time of the whole (main step, repeat). */
  ms: number;
  /** Of which: the main model prediction (UNet, both CFG branches). */
  epsMs: number;
  /** Of which: the guidance gradient (estimate, loss, adjoint VJPs); 0 on unguided steps. */
  guidanceMs: number;
}

export interface GuidedSamplingRun {
  denoiser: Denoiser;
  sampler: MainSampler;
  settings: GuidanceSettings;
  /** Loss on the clean sample (in sampler space); differentiable. */
  lossOnSample: (x0: tf.Tensor) => tf.Scalar;
  noise: SeededNoise;
  /** First main step (img2img starts later). */
  startStep?: number;
  onStep?: (record: StepRecord, done: number, total: number) => void;
}

export function isGuidedStep(settings: GuidanceSettings, i: number): boolean {
  return settings.method !== 'none' && i >= settings.window.start && i <= settings.window.end;
}

function assertFinite(x: tf.Tensor, what: string, step: number, method: string): void {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(x))).dataSync()[0]);
  if (bad)
    throw new Error(
      `NaN or Inf in the ${what} at main step ${step} (method ${method}); lower --rho-scale or check the models`,
    );
}

/**
 * One (main step, repeat) of the guided loop (paper Algorithm 1): eps, sampler step, guidance by the chosen
 * method. Returns the new sample and sampler state (caller owns both); nothing else survives.
 */
export function guidedStep(
  run: GuidedSamplingRun,
  x: tf.Tensor,
  state: SamplerState,
  i: number,
  guidedIndex: number,
  guidedCount: number,
): { prev: tf.Tensor; state: SamplerState; record: Omit<StepRecord, 'repeat' | 'ms'> } {
  const { denoiser, sampler, settings } = run;
  const t = sampler.timesteps[i];
  const guided = isGuidedStep(settings, i);
  let loss: number | null = null;
  let rho: number | null = null;
  let n: number | null = null;
  let epsMs = 0;
  let guidanceMs = 0;
  const result = tidyResult(() => {
    const begin = performance.now();
    const prediction = denoiser.predict(x, t);
    // Also a sync point, so that epsMs is the model's time on asynchronous backends (webgpu) too.
    assertFinite(prediction.eps, 'model output (eps)', i, settings.method);
    epsMs = performance.now() - begin;
    let eps = prediction.eps;
    const reference = { ...prediction, cfgScale: denoiser.cfgScale };
    if (guided && settings.method === 'ug') {
      // Universal Guidance forward guidance: eps_hat = eps + s0 sqrt(1 - abar_t) dL(x0hat(x_t))/dx_t.
      const guidanceBegin = performance.now();
      const abar = sampler.abarAt(i);
      const { value, grad } = tf.valueAndGrad((xt: tf.Tensor) =>
        run.lossOnSample(predictX0(xt, denoiser.eps(xt, t), abar)),
      )(x);
      loss = value.dataSync()[0];
      const scaled = tf.mul(grad, Math.sqrt(1 - abar));
      rho = guidanceStepSize(settings.rho.mode, settings.rho.scale, scaled, reference);
      eps = tf.add(eps, tf.mul(scaled, rho));
      n = 1;
      guidanceMs = performance.now() - guidanceBegin;
    }
    const stepped = sampler.step(eps, i, x, state);
    let prev = stepped.prevSample;
    if (guided && (settings.method === 'sag' || settings.method === 'freedom')) {
      n = settings.method === 'freedom' ? 1 : settings.n(guidedIndex, guidedCount);
      const problem = makeEstimateProblem(denoiser.eps, denoiser.schedule, t, {
        n,
        tableau: settings.tableau,
        grid: settings.grid,
        remainingTimesteps: sampler.timesteps.slice(i),
      });
      const guidanceBegin = performance.now();
      const g = estimateGradient(settings.grad, problem, x, run.lossOnSample, { eps0: prediction.eps });
      assertFinite(g.grad, 'guidance gradient', i, settings.method);
      guidanceMs = performance.now() - guidanceBegin;
      loss = g.loss;
      rho = guidanceStepSize(settings.rho.mode, settings.rho.scale, g.grad, reference);
      prev = tf.sub(prev, tf.mul(g.grad, rho));
    }
    assertFinite(prev, 'sample', i, settings.method);
    return { prev, state: stepped.state };
  });
  return { ...result, record: { step: i, timestep: t, guided, n, loss, rho, epsMs, guidanceMs } };
}

/**
 * The guided sampling loop: per main step (and repeat), one tidy scope; only the sample and the sampler state
 * survive between steps. Repeats re-noise the sample back to t with the seeded generator and keep the sampler
 * history of the previous main step. Returns the clean sample (caller owns it) and the step records.
 */
export function runGuidedSampling(
  run: GuidedSamplingRun,
  xT: tf.Tensor,
): { sample: tf.Tensor; records: StepRecord[] } {
  const { sampler, settings } = run;
  const steps = sampler.timesteps.length;
  const start = run.startStep ?? 0;
  const guidedSteps = Array.from({ length: steps }, (_, i) => i).filter(
    (i) => i >= start && isGuidedStep(settings, i),
  );
  const total = Array.from({ length: steps - start }, (_, k) =>
    isGuidedStep(settings, k + start) ? settings.repeats : 1,
  ).reduce((a, b) => a + b, 0);
  const records: StepRecord[] = [];
  let x = xT.clone();
  let state = sampler.initialState();
  for (let i = start; i < steps; i++) {
    const repeats = isGuidedStep(settings, i) ? settings.repeats : 1;
    for (let r = 0; r < repeats; r++) {
      const begin = performance.now();
      const out = guidedStep(run, x, state, i, guidedSteps.indexOf(i), guidedSteps.length);
      x.dispose();
      if (r < repeats - 1) {
        disposeSamplerState(out.state);
        const ratio = sampler.abarAt(i) / sampler.abarNext(i);
        x = tf.tidy(() =>
          tf.add(
            tf.mul(out.prev, Math.sqrt(ratio)),
            tf.mul(run.noise.normal(out.prev.shape), Math.sqrt(Math.max(0, 1 - ratio))),
          ),
        );
        out.prev.dispose();
      } else {
        disposeSamplerState(state);
        state = out.state;
        x = out.prev;
      }
      const record = { ...out.record, repeat: r, ms: performance.now() - begin };
      records.push(record);
      run.onStep?.(record, records.length, total);
    }
  }
  disposeSamplerState(state);
  return { sample: x, records };
}
