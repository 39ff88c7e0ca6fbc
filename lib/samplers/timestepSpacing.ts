import { TimestepSpacing } from '../schedule/schedulerConfig';

export { TIMESTEP_SPACINGS } from '../schedule/schedulerConfig';
export type { TimestepSpacing } from '../schedule/schedulerConfig';

/** numpy's round(): halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.linspace(start, stop, num) with its exact floating-point steps. */
export function numpyLinspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** Inference timesteps, descending, exactly as diffusers' schedulers compute them. */
export function inferenceTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  steps: number,
  stepsOffset: number,
): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTrainTimesteps) {
    throw new Error(`steps must be an integer in [1, ${numTrainTimesteps}], got ${steps}`);
  }
  switch (spacing) {
    case 'leading': {
      const ratio = Math.floor(numTrainTimesteps / steps);
      return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
    }
    case 'linspace':
      return numpyLinspace(0, numTrainTimesteps - 1, steps + 1)
        .map(roundHalfEven)
        .reverse()
        .slice(0, steps);
    case 'trailing': {
      const ratio = numTrainTimesteps / steps;
      const ts: number[] = [];
      for (let v = numTrainTimesteps; v > 0; v -= ratio) ts.push(roundHalfEven(v) - 1);
      return ts.slice(0, steps);
    }
  }
}
