import { betasFromConfig } from './betas';
import { SchedulerConfig } from './schedulerConfig';

/** A point on the diffusion ODE: UNet timestep (possibly fractional), abar and sigbar = sqrt((1 - abar) / abar). */
export interface OdePoint {
  timestep: number;
  abar: number;
  sigbar: number;
}

/**
 * The discrete noise schedule of a model: abar_t for t = 0..N-1 and the continuous map between sigbar and
 * fractional timesteps (linear interpolation of log sigbar over the table, docs/ALGORITHM.md section 1).
 */
export class NoiseSchedule {
  readonly alphasCumprod: Float64Array;
  private readonly logSigbar: Float64Array;

  constructor(readonly config: SchedulerConfig) {
    const betas = betasFromConfig(config);
    this.alphasCumprod = new Float64Array(betas.length);
    let prod = 1;
    for (let i = 0; i < betas.length; i++) {
      prod *= 1 - betas[i];
      this.alphasCumprod[i] = prod;
    }
    this.logSigbar = this.alphasCumprod.map((a) => 0.5 * Math.log((1 - a) / a));
  }

  get numTrainTimesteps(): number {
    return this.alphasCumprod.length;
  }

  /** abar at an integer timestep. */
  abar(t: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= this.alphasCumprod.length) {
      throw new Error(`timestep must be an integer in [0, ${this.alphasCumprod.length - 1}], got ${t}`);
    }
    return this.alphasCumprod[t];
  }

  sigbar(t: number): number {
    const a = this.abar(t);
    return Math.sqrt((1 - a) / a);
  }

  /**
   * abar at a fractional timestep (a Runge-Kutta stage's): log(sigbar) interpolated linearly over the table, the
   * inverse of timestepForSigbar; the table's value at integers.
   */
  abarAtTimestep(t: number): number {
    const last = this.alphasCumprod.length - 1;
    if (!(t >= 0 && t <= last)) throw new Error(`timestep must lie in [0, ${last}], got ${t}`);
    const lo = Math.floor(t);
    if (lo === t) return this.alphasCumprod[t];
    const logSigbar = this.logSigbar[lo] + (t - lo) * (this.logSigbar[lo + 1] - this.logSigbar[lo]);
    return 1 / (Math.exp(2 * logSigbar) + 1);
  }

  /** The ODE point at an integer timestep. */
  point(t: number): OdePoint {
    return { timestep: t, abar: this.abar(t), sigbar: this.sigbar(t) };
  }

  /** The clean end of the ODE: abar = 1, sigbar = 0; the UNet would see timestep 0 there. */
  static readonly CLEAN: OdePoint = { timestep: 0, abar: 1, sigbar: 0 };

  /**
   * Fractional timestep for a sigbar, by linear interpolation of log(sigbar) over the table; clamped to
   * [0, N-1] outside it (sigbar = 0, the clean end, maps to 0).
   */
  timestepForSigbar(sigbar: number): number {
    const table = this.logSigbar;
    if (!(sigbar > 0)) return 0;
    const ls = Math.log(sigbar);
    if (ls <= table[0]) return 0;
    const last = table.length - 1;
    if (ls >= table[last]) return last;
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (table[mid] <= ls) lo = mid;
      else hi = mid;
    }
    return lo + (ls - table[lo]) / (table[hi] - table[lo]);
  }

  /** The ODE point at an arbitrary sigbar (a Runge-Kutta stage): abar from sigbar exactly, t interpolated. */
  pointAtSigbar(sigbar: number): OdePoint {
    if (sigbar === 0) return NoiseSchedule.CLEAN;
    return { timestep: this.timestepForSigbar(sigbar), abar: 1 / (sigbar * sigbar + 1), sigbar };
  }
}
