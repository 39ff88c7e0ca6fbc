import * as tf from '@tensorflow/tfjs';
import { Denoiser } from '../guidance/denoiser';
import { StepTensors } from '../guidance/guidedSampling';
import { ButcherTableau } from '../ode/butcherTableau';
import { cleanEstimate } from '../ode/cleanEstimate';
import { EstimateGridKind } from '../ode/estimateGrid';
import { makeEstimateProblem } from '../ode/estimateProblem';
import { EULER } from '../ode/tableaus';

/** What a preview shows of one step: images [num, H, W, C] in [0, 1], lent until the callback settles. */
export interface StepPreview {
  step: number;
  timestep: number;
  /** x_t as an image (noisy; clipped to [0, 1]). */
  sample: tf.Tensor4D;
  /** The one-step (Tweedie) estimate of the clean image from x_t. */
  oneStep: tf.Tensor4D;
  /** The n-step estimate (the ODE solved to t = 0 in n steps). */
  nStep: tf.Tensor4D;
  n: number;
  /** Whether `nStep` is the estimate the guidance judged at this step (else it was solved for the preview only). */
  judged: boolean;
}

export interface PreviewRequest {
  /** Steps of the n-step estimate shown (SAG's own when it guides with this n). */
  n: number;
  tableau?: ButcherTableau;
  grid?: EstimateGridKind;
  onPreview: (preview: StepPreview) => void | Promise<void>;
}

/**
 * Turns the guided loop's step tensors into preview images. The one-step estimate reuses the step's prediction
 * (no network call); the n-step estimate is the guidance's own when it was solved with the same n, else it costs
 * n more network evaluations per step (forward only).
 */
export function stepPreviewer(
  denoiser: Denoiser,
  timesteps: readonly number[],
  request: PreviewRequest,
  /** The tableau the guidance solves with. */
  guidanceTableau: ButcherTableau,
): (view: StepTensors) => Promise<void> {
  const tableau = request.tableau ?? guidanceTableau;
  return async (view) => {
    const estimateProblem = (n: number, stepTableau: ButcherTableau) =>
      makeEstimateProblem(denoiser.eps, denoiser.schedule, view.timestep, {
        n,
        tableau: stepTableau,
        grid: request.grid,
        remainingTimesteps: timesteps.slice(timesteps.indexOf(view.timestep)),
      });
    const judged =
      view.estimate !== null &&
      view.n === request.n &&
      (request.n === 1 || tableau.name === guidanceTableau.name);
    const images = tf.tidy(() => {
      const clip = (image: tf.Tensor4D) => tf.clipByValue(image, 0, 1) as tf.Tensor4D;
      const oneStep = cleanEstimate(estimateProblem(1, EULER), view.x, { eps0: view.eps });
      const nStep = judged
        ? (view.estimate as tf.Tensor)
        : cleanEstimate(estimateProblem(request.n, tableau), view.x, { eps0: view.eps });
      return {
        sample: clip(denoiser.toImage(view.x)),
        oneStep: clip(denoiser.toImage(oneStep)),
        nStep: clip(denoiser.toImage(nStep)),
      };
    });
    try {
      await request.onPreview({ step: view.step, timestep: view.timestep, ...images, n: request.n, judged });
    } finally {
      tf.dispose([images.sample, images.oneStep, images.nStep]);
    }
  };
}
