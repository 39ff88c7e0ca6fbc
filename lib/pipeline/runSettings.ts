import { GuidanceSettings, stepCountSchedule } from '../guidance/guidanceSettings';
import { GenerateOptions } from '../options/generateOptions';
import { windowRange } from '../options/windowOption';

/** The guidance loop's settings for validated options (unguided when no loss is chosen). */
export function guidanceSettingsFor(o: GenerateOptions): GuidanceSettings {
  const window = windowRange(o.window, o.steps);
  if (!window) throw new Error(`window outside the main steps: options were not validated`);
  return {
    method: o.guidance.length === 0 ? 'none' : o.method,
    n: stepCountSchedule(o.n),
    tableau: o.tableau,
    grad: o.grad,
    grid: o.grid,
    window,
    repeats: o.repeats,
    rho: { mode: o.rhoMode, scale: o.rhoScale, max: o.rhoMax },
  };
}
