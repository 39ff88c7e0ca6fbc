import * as tf from '@tensorflow/tfjs';
import { EstimateProblem, odeDerivative } from '../ode/estimateProblem';
import { OdePoint } from '../schedule/noiseSchedule';
import { vjpGrad } from './vjp';

/**
 * J_f(xbar)^T mu for the estimate's ODE derivative f(xbar) = eps(sqrt(abar) xbar, t) at `point`: through the
 * model's VJP graph when it has one (sqrt(abar) J_eps^T mu, no tape), else tf.grad. Caller owns the result.
 */
export function odeDerivativeVjp(
  problem: EstimateProblem,
  xbar: tf.Tensor,
  point: OdePoint,
  mu: tf.Tensor,
): tf.Tensor {
  const epsVjp = problem.eps.vjp;
  if (!epsVjp) return vjpGrad((x) => odeDerivative(problem, x, point), xbar, mu);
  const scale = Math.sqrt(point.abar);
  return tf.tidy(() => tf.mul(epsVjp(tf.mul(xbar, scale), point.timestep, mu), scale));
}
