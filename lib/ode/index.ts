export { defineTableau } from './butcherTableau';
export type { ButcherTableau } from './butcherTableau';
export { EULER, HEUN, MIDPOINT, RK4, TABLEAUS, tableauByName } from './tableaus';
export type { EpsFunction } from './epsFunction';
export { ESTIMATE_GRIDS, assertStepCount, paperGrid, releasedGrid } from './estimateGrid';
export type { EstimateGridKind } from './estimateGrid';
export {
  makeEstimateProblem,
  stepCount,
  stepSize,
  stagePoint,
  odeDerivative,
  toXbar,
  fromXbarAtEnd,
} from './estimateProblem';
export type { EstimateProblem, EstimateProblemOptions } from './estimateProblem';
export { cleanEstimate, rungeKuttaStep, stageStates } from './cleanEstimate';
export type { CleanEstimateOptions } from './cleanEstimate';
