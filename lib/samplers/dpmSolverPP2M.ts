import * as tf from '@tensorflow/tfjs';
import { NoiseSchedule } from '../schedule/noiseSchedule';
import { DpmSolverSettings } from '../schedule/schedulerConfig';
import { MainSampler, SamplerState, SamplerStepResult, predictX0 } from './mainSampler';
import { TimestepSpacing, inferenceTimesteps } from './timestepSpacing';

/** Rejects, by field name, DPMSolverMultistepScheduler settings this sampler does not implement. */
function assertImplementedDpmSolver(settings: DpmSolverSettings): void {
  const expected: [string, unknown, unknown][] = [
    ['algorithm_type', settings.algorithmType, 'dpmsolver++'],
    ['solver_order', settings.solverOrder, 2],
    ['solver_type', settings.solverType, 'midpoint'],
    ['lower_order_final', settings.lowerOrderFinal, true],
    ['euler_at_final', settings.eulerAtFinal, false],
    ['variance_type', settings.varianceType, null],
    ['lambda_min_clipped', settings.lambdaMinClipped, null],
  ];
  for (const [key, value, implemented] of expected) {
    if (value !== implemented) {
      const shown = implemented === null ? 'unset' : JSON.stringify(implemented);
      throw new Error(
        `scheduler config: ${key} ${JSON.stringify(value)} is not supported by the dpmpp2m sampler (expected ${shown})`,
      );
    }
  }
  if (settings.alternativeSigmas.length > 0)
    throw new Error(
      `scheduler config: ${settings.alternativeSigmas.join(', ')} true is not supported by the dpmpp2m sampler (it uses the training sigmas)`,
    );
}

/**
 * diffusers' DPMSolverMultistepScheduler with algorithm_type 'dpmsolver++', solver_order 2, solver_type 'midpoint',
 * lower_order_final true, final_sigmas_type 'zero' (the last step returns the data prediction) or 'sigma_min'.
 */
export class DpmSolverPP2MSampler implements MainSampler {
  readonly name = 'dpmpp2m';
  readonly timesteps: readonly number[];
  /** sigma_i = sigbar(timesteps[i]), with a final 0. */
  private readonly sigmas: number[];

  constructor(
    private readonly schedule: NoiseSchedule,
    steps: number,
    spacing: TimestepSpacing = schedule.config.timestepSpacing ?? 'linspace',
    private readonly finalSigmas: 'zero' | 'sigma_min' = schedule.config.dpmSolver.finalSigmasType,
  ) {
    assertImplementedDpmSolver(schedule.config.dpmSolver);
    this.timesteps = inferenceTimesteps(
      spacing,
      schedule.numTrainTimesteps,
      steps,
      schedule.config.stepsOffset,
    );
    const last = finalSigmas === 'zero' ? 0 : schedule.sigbar(0);
    this.sigmas = [...this.timesteps.map((t) => schedule.sigbar(t)), last];
  }

  abarAt(i: number): number {
    return 1 / (this.sigmas[i] ** 2 + 1);
  }

  abarNext(i: number): number {
    return 1 / (this.sigmas[i + 1] ** 2 + 1);
  }

  initialState(): SamplerState {
    return { previousX0: null, lowerOrderNums: 0 };
  }

  private lambda(i: number): number {
    const sigma = this.sigmas[i];
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    return Math.log(alpha) - Math.log(sigma * alpha);
  }

  step(eps: tf.Tensor, i: number, sample: tf.Tensor, state: SamplerState): SamplerStepResult {
    // With order 2 at most, diffusers' lower_order_second changes nothing; lower_order_final is the last step.
    const steps = this.timesteps.length;
    const lowerOrderFinal = i === steps - 1 && (steps < 15 || this.finalSigmas === 'zero');
    const x0 = predictX0(sample, eps, this.abarAt(i));
    const sigmaT = this.sigmas[i + 1];
    const sigmaS0 = this.sigmas[i];
    const useFirstOrder = state.lowerOrderNums < 1 || state.previousX0 === null || lowerOrderFinal;
    const prevSample = tf.tidy(() => {
      if (sigmaT === 0) return x0.clone();
      const alphaT = 1 / Math.sqrt(sigmaT * sigmaT + 1);
      const h = this.lambda(i + 1) - this.lambda(i);
      const expm1 = Math.expm1(-h);
      const ratio = (sigmaT * alphaT) / (sigmaS0 / Math.sqrt(sigmaS0 * sigmaS0 + 1));
      if (useFirstOrder) {
        return tf.sub(tf.mul(sample, ratio), tf.mul(x0, alphaT * expm1));
      }
      const h0 = this.lambda(i) - this.lambda(i - 1);
      const r0 = h0 / h;
      const d1 = tf.mul(tf.sub(x0, state.previousX0 as tf.Tensor), 1 / r0);
      return tf.sub(
        tf.sub(tf.mul(sample, ratio), tf.mul(x0, alphaT * expm1)),
        tf.mul(d1, 0.5 * alphaT * expm1),
      );
    });
    return {
      prevSample,
      state: { previousX0: x0, lowerOrderNums: Math.min(state.lowerOrderNums + 1, 2) },
    };
  }
}
