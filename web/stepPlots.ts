import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { StepRecord } from '../lib/guidance/guidedSampling';

/** A log axis tick: plain for moderate values, 1e-4 style for small and large ones. */
function logTickLabel(value: number | null): string {
  if (value === null) return '';
  return value >= 0.01 && value < 1e4 ? String(Number(value.toPrecision(2))) : value.toExponential(0);
}

/** The guidance loss and the step size rho against the main step, redrawn as steps arrive. */
export class StepPlots {
  private readonly loss: uPlot;
  private readonly rho: uPlot;
  private readonly steps: number[] = [];
  private readonly losses: (number | null)[] = [];
  private readonly rhos: (number | null)[] = [];

  constructor(lossTarget: HTMLElement, rhoTarget: HTMLElement) {
    const chart = (title: string, label: string, color: string, target: HTMLElement) =>
      new uPlot(
        {
          title,
          width: 360,
          height: 200,
          scales: { x: { time: false }, y: { distr: 3 } },
          axes: [
            { label: 'main step' },
            { label, size: 60, values: (_u: uPlot, ticks: (number | null)[]) => ticks.map(logTickLabel) },
          ],
          series: [{ label: 'step' }, { label, stroke: color, width: 2, spanGaps: false }],
          legend: { show: false },
        },
        [[], []],
        target,
      );
    this.loss = chart('guidance loss', 'loss', '#c0392b', lossTarget);
    this.rho = chart('step size rho', 'rho', '#2c6fbb', rhoTarget);
  }

  clear(): void {
    this.steps.length = 0;
    this.losses.length = 0;
    this.rhos.length = 0;
    this.redraw();
  }

  add(record: StepRecord): void {
    this.steps.push(record.step + record.repeat / 10);
    this.losses.push(record.loss);
    this.rhos.push(record.rho);
    this.redraw();
  }

  private redraw(): void {
    this.loss.setData([this.steps, this.losses]);
    this.rho.setData([this.steps, this.rhos]);
  }
}
