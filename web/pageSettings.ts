import { GenerateOptions } from '../lib/options/generateOptions';
import { generateOptionsFromJson } from '../lib/options/optionsJson';

/** The page's controls, as read from the form. */
export interface PageSettings {
  guidance: 'none' | 'class' | 'style';
  target: number;
  style: string;
  method: 'sag' | 'freedom' | 'ug';
  n: number;
  tableau: string;
  steps: number;
  rhoScale: number;
  seed: number;
  num: number;
}

function field(form: HTMLFormElement, name: string): string {
  const element = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
  if (!element) throw new Error(`the page has no control '${name}'`);
  return element.value;
}

export function readPageSettings(form: HTMLFormElement): PageSettings {
  return {
    guidance: field(form, 'guidance') as PageSettings['guidance'],
    target: Number(field(form, 'target')),
    style: field(form, 'style'),
    method: field(form, 'method') as PageSettings['method'],
    n: Number(field(form, 'n')),
    tableau: field(form, 'tableau'),
    steps: Number(field(form, 'steps')),
    rhoScale: Number(field(form, 'rhoScale')),
    seed: Number(field(form, 'seed')),
    num: Number(field(form, 'num')),
  };
}

/**
 * The run's generation options in their JSON form (what `sag generate` records), checked by the same option
 * specs as the CLI's flags: the page and the CLI resolve the same settings to the same run.
 */
export function settingsJson(s: PageSettings): Record<string, unknown> {
  const json: Record<string, unknown> = {
    steps: s.steps,
    seed: s.seed,
    num: s.num,
  };
  if (s.guidance !== 'none') {
    Object.assign(json, { guidance: [s.guidance], method: s.method, rhoScale: s.rhoScale });
    if (s.method === 'sag') Object.assign(json, { n: s.n, tableau: s.tableau });
    if (s.guidance === 'class') json.target = s.target;
    if (s.guidance === 'style') json.style = s.style;
  }
  return json;
}

export function generateOptionsOf(s: PageSettings): Partial<GenerateOptions> {
  return generateOptionsFromJson(settingsJson(s), 'page settings');
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The same run from a shell (style images are the shipped ones in weights/examples). */
export function cliCommand(s: PageSettings, backend: string): string {
  const flags = Object.entries(settingsJson(s)).map(([key, value]) => {
    const text = Array.isArray(value)
      ? value.join(',')
      : key === 'style'
        ? `weights/examples/${value}`
        : value;
    return `--${kebab(key)} ${text}`;
  });
  return `npx sag generate ${flags.join(' ')} --backend ${backend} --out page-run.png`;
}
