import * as tf from '@tensorflow/tfjs';
import { estimateGradient } from '../adjoint';
import { readValues } from '../backend/readTensor';
import { makeEstimateProblem } from '../ode/estimateProblem';
import { Denoiser, EpsPrediction } from './denoiser';
import { SeededNoise } from '../samplers/seededNoise';
import { EULER } from '../ode/tableaus';
import { MainSampler, SamplerState, disposeSamplerState } from '../samplers';
import { tidyResult } from '../tidyResult';
import { GuidanceSettings, usesOneStepEstimate } from './guidanceSettings';
import { guidanceStepSize, rms } from './rho';
import { RunFailedError } from '../runFailure';

/** What happened at one (main step, repeat). */
export interface StepRecord {
  step: number;
  timestep: number;
  repeat: number;
  guided: boolean;
  n: number | null;
  loss: number | null;
  rho: number | null;
  /** RMS of the guidance update rho * g (null on unguided steps), and of the sample it is applied to. */
  updateRms: number | null;
  sampleRms: number;
  /** Wall time of the whole (main step, repeat). */
  ms: number;
  /** Of which: the main model prediction (UNet, both CFG branches); null when not measured (see splitTiming). */
  epsMs: number | null;
  /** Of which: the guidance gradient (estimate, loss, adjoint VJPs); 0 on unguided steps, null when not measured. */
  guidanceMs: number | null;
}

/**
 * The tensors of one (main step, repeat), lent to `onStepTensors` until it returns (or its promise settles): clone
 * what is kept.
 */
export interface StepTensors {
  step: number;
  timestep: number;
  /** x_t, the sample the step starts from (sampler space). */
  x: tf.Tensor;
  /** The main prediction at x_t (after classifier-free guidance). */
  eps: tf.Tensor;
  /** The clean estimate the guidance judged (n-step for SAG, one-step for FreeDoM and UG); null when unguided. */
  estimate: tf.Tensor | null;
  /** The n of `estimate` (null when unguided). */
  n: number | null;
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
  /**
   * Measure the model / guidance split of each step (default true). On asynchronous backends (webgpu) this
   * waits for the device after the model and after the guidance gradient: two more reads per step. Without it a
   * step reads the device once, at its end.
   */
  splitTiming?: boolean;
  onStep?: (record: StepRecord, done: number, total: number) => void;
  /** Awaited after each step (after onStep): a server answers its other requests there. */
  afterStep?: () => Promise<void>;
  /** Sees each step's sample, prediction and judged estimate before the step is taken (previews). */
  onStepTensors?: (view: StepTensors) => void | Promise<void>;
}

export function isGuidedStep(settings: GuidanceSettings, i: number): boolean {
  return settings.method !== 'none' && i >= settings.window.start && i <= settings.window.end;
}

/** 1 when every element is finite, else 0 (a float scalar, so it can be stacked with the step's values). */
function finiteFlag(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.cast(tf.all(tf.isFinite(x)), 'float32') as tf.Scalar);
}

function failIfNotFinite(flag: number, what: string, step: number, method: string): void {
  if (flag !== 1)
    throw new RunFailedError(
      `NaN or Inf in the ${what} at main step ${step} (method ${method}); lower --rho-scale or check the models`,
    );
}

/** Waits for a device scalar and returns the time since `begin` (the tensor is disposed). */
async function settle(flag: tf.Scalar, what: string, step: number, method: string): Promise<void> {
  const [value] = await readValues(flag);
  flag.dispose();
  failIfNotFinite(value, what, step, method);
}

interface Guidance {
  /** The correction direction: d loss / d x_t (SAG, FreeDoM) or sqrt(1 - abar) times it (UG). */
  direction: tf.Tensor;
  loss: tf.Scalar;
  rho: tf.Scalar;
  n: number;
  /** The judged clean estimate, kept only for onStepTensors. */
  estimate: tf.Tensor | null;
}

/**
 * The guidance gradient at x_t by the run's method, with its loss and step size on the device. Caller owns the
 * tensors; null on unguided steps.
 */
function guidanceAt(
  run: GuidedSamplingRun,
  x: tf.Tensor,
  i: number,
  guidedIndex: number,
  guidedCount: number,
  prediction: EpsPrediction,
): Guidance | null {
  const { denoiser, sampler, settings } = run;
  if (!isGuidedStep(settings, i)) return null;
  const t = sampler.timesteps[i];
  const reference = { ...prediction, cfgScale: denoiser.cfgScale };
  return tidyResult(() => {
    // The one-step estimate's eps is the main prediction's: its gradient costs one VJP and no forward.
    const oneStep = usesOneStepEstimate(settings.method);
    const n = oneStep ? 1 : settings.n(guidedIndex, guidedCount);
    const problem = makeEstimateProblem(denoiser.eps, denoiser.schedule, t, {
      n,
      tableau: oneStep ? EULER : settings.tableau,
      grid: settings.grid,
      remainingTimesteps: sampler.timesteps.slice(i),
    });
    const g = estimateGradient(settings.grad, problem, x, run.lossOnSample, { eps0: prediction.eps });
    const estimate = run.onStepTensors ? g.x0hat : null;
    if (!estimate) g.x0hat.dispose();
    if (settings.method === 'ug') {
      // Universal Guidance forward guidance: eps_hat = eps + s0 sqrt(1 - abar_t) dL(x0hat(x_t))/dx_t.
      const direction = tf.mul(g.grad, Math.sqrt(1 - sampler.abarAt(i)));
      g.grad.dispose();
      const rho = guidanceStepSize(
        settings.rho.mode,
        settings.rho.scale,
        direction,
        reference,
        settings.rho.max,
      );
      return { direction, loss: g.loss, rho, n, estimate };
    }
    const rho = guidanceStepSize(settings.rho.mode, settings.rho.scale, g.grad, reference, settings.rho.max);
    return { direction: g.grad, loss: g.loss, rho, n, estimate };
  });
}

/**
 * One (main step, repeat) of the guided loop (paper Algorithm 1): eps, guidance by the chosen method, sampler
 * step. Everything stays on the device until one read at the end (loss, rho and the NaN/Inf checks together).
 * Returns the new sample and sampler state (caller owns both); nothing else survives.
 */
export async function guidedStep(
  run: GuidedSamplingRun,
  x: tf.Tensor,
  state: SamplerState,
  i: number,
  guidedIndex: number,
  guidedCount: number,
): Promise<{ prev: tf.Tensor; state: SamplerState; record: Omit<StepRecord, 'repeat' | 'ms'> }> {
  const { denoiser, sampler, settings } = run;
  const split = run.splitTiming ?? true;
  const t = sampler.timesteps[i];
  const guided = isGuidedStep(settings, i);
  const begin = performance.now();
  const prediction = tidyResult(() => denoiser.predict(x, t));
  let guidance: Guidance | null = null;
  let epsMs: number | null = null;
  let guidanceMs: number | null = null;
  try {
    if (split) {
      await settle(finiteFlag(prediction.eps), 'model output (eps)', i, settings.method);
      epsMs = performance.now() - begin;
    }
    const guidanceBegin = performance.now();
    guidance = guidanceAt(run, x, i, guidedIndex, guidedCount, prediction);
    if (split) {
      if (guidance) await settle(finiteFlag(guidance.direction), 'guidance gradient', i, settings.method);
      guidanceMs = guidance ? performance.now() - guidanceBegin : 0;
    }
    await run.onStepTensors?.({
      step: i,
      timestep: t,
      x,
      eps: prediction.eps,
      estimate: guidance?.estimate ?? null,
      n: guidance?.n ?? null,
    });
    const g = guidance;
    const {
      prev,
      state: next,
      checks,
    } = tidyResult(() => {
      let eps = prediction.eps;
      if (g && settings.method === 'ug') eps = tf.add(eps, tf.mul(g.direction, g.rho));
      const stepped = sampler.step(eps, i, x, state);
      const prev =
        g && settings.method !== 'ug'
          ? tf.sub(stepped.prevSample, tf.mul(g.direction, g.rho))
          : stepped.prevSample;
      const zero = tf.scalar(0);
      const checks = tf.stack([
        // With split timing, eps and the gradient were checked when they were waited for.
        split ? tf.scalar(1) : finiteFlag(prediction.eps),
        g && !split ? finiteFlag(g.direction) : tf.scalar(1),
        finiteFlag(prev),
        g ? g.loss : zero,
        g ? g.rho : zero,
        g ? rms(tf.mul(g.direction, g.rho)) : zero,
        rms(x),
      ]);
      return { prev, state: stepped.state, checks };
    });
    let values: ArrayLike<number>;
    try {
      values = await readValues(checks);
    } catch (error) {
      tf.dispose(prev);
      disposeSamplerState(next);
      throw error;
    } finally {
      checks.dispose();
    }
    try {
      failIfNotFinite(values[0], 'model output (eps)', i, settings.method);
      failIfNotFinite(values[1], 'guidance gradient', i, settings.method);
      failIfNotFinite(values[2], 'sample', i, settings.method);
    } catch (error) {
      prev.dispose();
      disposeSamplerState(next);
      throw error;
    }
    return {
      prev,
      state: next,
      record: {
        step: i,
        timestep: t,
        guided,
        n: guidance ? guidance.n : null,
        loss: guidance ? values[3] : null,
        rho: guidance ? values[4] : null,
        updateRms: guidance ? values[5] : null,
        sampleRms: values[6],
        epsMs,
        guidanceMs,
      },
    };
  } finally {
    tf.dispose([prediction.eps, prediction.guidanceDelta].filter((v): v is tf.Tensor => v !== null));
    if (guidance)
      tf.dispose(
        [guidance.direction, guidance.loss, guidance.rho, guidance.estimate].filter((v) => v !== null),
      );
  }
}

/**
 * The guided sampling loop: per main step (and repeat), tidy scopes and one device read; only the sample and the
 * sampler state survive between steps. Repeats re-noise the sample back to t with the seeded generator and keep
 * the sampler history of the previous main step. Returns the clean sample (caller owns it) and the step records.
 */
export async function runGuidedSampling(
  run: GuidedSamplingRun,
  xT: tf.Tensor,
): Promise<{ sample: tf.Tensor; records: StepRecord[] }> {
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
  try {
    for (let i = start; i < steps; i++) {
      const repeats = isGuidedStep(settings, i) ? settings.repeats : 1;
      for (let r = 0; r < repeats; r++) {
        const begin = performance.now();
        const out = await guidedStep(run, x, state, i, guidedSteps.indexOf(i), guidedSteps.length);
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
        if (run.afterStep) await run.afterStep();
      }
    }
  } catch (error) {
    x.dispose();
    throw error;
  } finally {
    disposeSamplerState(state);
  }
  return { sample: x, records };
}
