import { NoiseSchedule, parseSchedulerConfig } from '../../lib/schedule';

describe('squaredcos_cap_v2 (improved DDPM cosine schedule, as diffusers builds it)', () => {
  const schedule = new NoiseSchedule(
    parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2', num_train_timesteps: 1000 }),
  );
  // Nichol & Dhariwal's f(u) = cos^2(((u + s) / (1 + s)) pi / 2), s = 0.008; abar_k = f((k + 1) / N) / f(0).
  const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;

  test('the cumulative product of (1 - beta) telescopes to the closed form until the 0.999 cap', () => {
    for (const k of [0, 1, 10, 250, 500, 900, 980]) {
      expect(schedule.alphasCumprod[k]).toBeCloseTo(f((k + 1) / 1000) / f(0), 9);
    }
  });

  test('abar falls monotonically and the last beta is capped at 0.999', () => {
    const abar = schedule.alphasCumprod;
    for (let k = 1; k < abar.length; k++) expect(abar[k]).toBeLessThan(abar[k - 1]);
    expect(1 - abar[999] / abar[998]).toBeCloseTo(0.999, 12);
  });
});
