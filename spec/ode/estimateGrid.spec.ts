import { makeEstimateProblem, paperGrid, releasedGrid } from '../../lib/ode';
import { NoiseSchedule, SD_V1_SCHEDULER } from '../../lib/schedule';

const schedule = new NoiseSchedule(SD_V1_SCHEDULER);
const eps = () => {
  throw new Error('not called');
};

describe('estimate grids', () => {
  test('paper grid: s_i = round(t (1 - i/n)) with numpy rounding, then the clean end', () => {
    const grid = paperGrid(schedule, 701, 4);
    expect(grid.map((p) => p.timestep)).toEqual([701, 526, 350, 175, 0]);
    expect(grid[4]).toEqual(NoiseSchedule.CLEAN);
    expect(grid[1].abar).toBeCloseTo(schedule.abar(526), 12);
  });

  test('released grid: n points from the remaining main timesteps, n - 1 steps', () => {
    const remaining = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1];
    expect(releasedGrid(schedule, remaining, 4).map((p) => p.timestep)).toEqual([901, 601, 301, 1]);
    expect(releasedGrid(schedule, remaining, 1).map((p) => p.timestep)).toEqual([901]);
  });

  test('n < 1 is a clear error', () => {
    expect(() => makeEstimateProblem(eps, schedule, 500, { n: 0 })).toThrow(
      'n: the number of estimate steps must be an integer >= 1, got 0',
    );
    expect(() => makeEstimateProblem(eps, schedule, 500, { n: 2.5 })).toThrow(/integer >= 1, got 2.5/);
  });
});
