import * as tf from '@tensorflow/tfjs';
import { EpsFunction, EstimateProblem } from '../../lib/ode';
import { stagePoint, stepSize } from '../../lib/ode/estimateProblem';

/** eps(x, t) = A(t) x with A(t) = A0 + (t / 1000) A1, on x of shape [1, 1, 1, d]. Matrices row-major d x d. */
export interface LinearEps {
  d: number;
  a0: number[][];
  a1: number[][];
}

export function randomLinearEps(d: number, seed: number): LinearEps {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const m = () => Array.from({ length: d }, () => Array.from({ length: d }, () => rand() / Math.sqrt(d)));
  return { d, a0: m(), a1: m() };
}

export function matrixAt(lin: LinearEps, t: number): number[][] {
  return lin.a0.map((row, i) => row.map((v, j) => v + (t / 1000) * lin.a1[i][j]));
}

export function linearEpsFunction(lin: LinearEps): EpsFunction {
  return (x, t) =>
    tf.tidy(() =>
      tf.matMul(x.reshape([1, lin.d]), tf.tensor2d(matrixAt(lin, t)), false, true).reshape(x.shape),
    );
}

/** A nonlinear variant: eps = tanh(A(t) x) * 2. */
export function tanhEpsFunction(lin: LinearEps): EpsFunction {
  const linear = linearEpsFunction(lin);
  return (x, t) => tf.tidy(() => tf.mul(tf.tanh(linear(x, t)), 2));
}

type Matrix = number[][];
const identity = (d: number): Matrix =>
  Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => +(i === j)));
const mul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const add = (a: Matrix, b: Matrix, scale = 1): Matrix =>
  a.map((row, i) => row.map((v, j) => v + scale * b[i][j]));

/** The linear map of one discrete RK step of the estimate, in float64: xbar_{i+1} = M_i xbar_i. */
function stepMatrix(problem: EstimateProblem, lin: LinearEps, i: number): Matrix {
  const { a, b } = problem.tableau;
  const h = stepSize(problem, i);
  const d = lin.d;
  const stageMaps: Matrix[] = [];
  const derivativeMaps: Matrix[] = [];
  let m = identity(d);
  for (let j = 0; j < b.length; j++) {
    let p = identity(d);
    for (let l = 0; l < j; l++) p = add(p, derivativeMaps[l], h * a[j][l]);
    stageMaps.push(p);
    const point = stagePoint(problem, i, j);
    const k = matrixAt(lin, point.timestep).map((row) => row.map((v) => v * Math.sqrt(point.abar)));
    derivativeMaps.push(mul(k, p));
    m = add(m, derivativeMaps[j], h * b[j]);
  }
  return m;
}

/**
 * Closed-form estimate and exact discrete gradient of L = 0.5 ||x0hat - target||^2 for the linear problem, in
 * float64: x0hat = c_end * M x_t / c_0, grad = (c_end / c_0) M^T (x0hat - target).
 */
export function linearReference(
  problem: EstimateProblem,
  lin: LinearEps,
  xT: number[],
  target: number[],
): { x0hat: number[]; grad: number[] } {
  let total = identity(lin.d);
  for (let i = 0; i < problem.grid.length - 1; i++) total = mul(stepMatrix(problem, lin, i), total);
  const scale = Math.sqrt(problem.grid[problem.grid.length - 1].abar) / Math.sqrt(problem.grid[0].abar);
  const x0hat = total.map((row) => scale * row.reduce((s, v, k) => s + v * xT[k], 0));
  const residual = x0hat.map((v, i) => v - target[i]);
  const grad = total[0].map((_, k) => scale * total.reduce((s, row, i) => s + row[k] * residual[i], 0));
  return { x0hat, grad };
}
