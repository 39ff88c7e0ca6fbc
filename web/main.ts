import * as tf from '@tensorflow/tfjs';
import './page.css';
import { readNumbers } from '../lib/backend/readTensor';
import { imageBytes, paintScaled, renderStrip } from './imageStrip';
import { PageBackendChoice, startPageBackend } from './pageBackend';
import { PageModels, loadPageModels } from './pageModels';
import { PageSettings, cliCommand, generateOptionsOf, readPageSettings } from './pageSettings';
import { PreviewHistory } from './previewHistory';
import { StepPlots } from './stepPlots';

/** What the page did last, for people reading the console and for the browser test. */
interface PageRun {
  settings: PageSettings;
  backend: string;
  /** round(clip(x) * 255) of each final image, row-major H x W x C. */
  images: number[][];
  /** The evaluator's class and p(target) per image (class guidance), or its class only. */
  verdicts: { predicted: number; pTarget: number | null }[];
  command: string;
  seconds: number;
}

declare global {
  interface Window {
    sagPage?: {
      backend: string;
      lastRun: PageRun | null;
      error: string | null;
      /** tfjs tensors alive now (the models' weights between runs: a run leaves none behind). */
      numTensors(): number;
    };
  }
}

const SCALE = 4;
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = element<HTMLFormElement>('settings');
const status = element<HTMLElement>('status');
const startButton = element<HTMLButtonElement>('start');
const stopButton = element<HTMLButtonElement>('stop');

class StopRequested extends Error {}

function setState(state: 'loading' | 'ready' | 'running' | 'done' | 'stopped' | 'error'): void {
  document.body.dataset.state = state;
  startButton.disabled = state === 'loading' || state === 'running';
  stopButton.disabled = state !== 'running';
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  status.textContent = `error: ${message}`;
  if (window.sagPage) window.sagPage.error = message;
  setState('error');
}

async function showVerdicts(
  models: PageModels,
  images: tf.Tensor4D,
  s: PageSettings,
): Promise<PageRun['verdicts']> {
  const probabilities = models.evaluator.probabilities(images);
  const values = await readNumbers(probabilities).finally(() => probabilities.dispose());
  const classes = models.evaluator.classes;
  const verdicts = Array.from({ length: images.shape[0] }, (_, i) => {
    const row = values.slice(i * classes, (i + 1) * classes);
    const predicted = row.indexOf(Math.max(...row));
    return { predicted, pTarget: s.guidance === 'class' ? row[s.target] : null };
  });
  const container = element('verdicts');
  container.replaceChildren();
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts[i];
    const figure = document.createElement('figure');
    const hit = s.guidance !== 'class' ? null : v.predicted === s.target;
    figure.className = `verdict${hit === null ? '' : hit ? ' hit' : ' miss'}`;
    const canvas = document.createElement('canvas');
    const one = tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    paintScaled(canvas, await renderStrip(one, 'row').finally(() => one.dispose()), SCALE);
    const caption = document.createElement('figcaption');
    caption.textContent =
      v.pTarget === null
        ? `evaluator: ${v.predicted}`
        : `evaluator: ${v.predicted} ${hit ? '✓' : '✗'} p(${s.target}) = ${v.pTarget.toFixed(2)}`;
    figure.append(canvas, caption);
    container.append(figure);
  }
  return verdicts;
}

interface PageViews {
  plots: StepPlots;
  history: PreviewHistory;
}

async function run(models: PageModels, backend: string, views: PageViews, stop: { requested: boolean }) {
  const settings = readPageSettings(form);
  const options = generateOptionsOf(settings);
  const command = cliCommand(settings, backend);
  element('command').textContent = command;
  element('verdicts').replaceChildren();
  views.plots.clear();
  views.history.clear();
  setState('running');
  const begin = performance.now();
  const result = await models.generator.generate(options, {
    onWarning: (message) => console.warn(`warning: ${message}`),
    preview: {
      n: settings.n,
      onPreview: async (preview) => {
        if (stop.requested) throw new StopRequested('stopped');
        await views.history.add(preview);
        // On wasm every await above resolves at once: give the browser a turn to paint and to take a Stop click.
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
    },
    onStep: (record, done, total) => {
      views.plots.add(record);
      const loss = record.loss === null ? '' : `, loss ${record.loss.toPrecision(3)}`;
      status.textContent = `step ${done}/${total}${loss} (${((performance.now() - begin) / 1000).toFixed(1)} s)`;
      if (stop.requested) throw new StopRequested('stopped');
    },
  });
  try {
    const seconds = (performance.now() - begin) / 1000;
    const verdicts = await showVerdicts(models, result.images, settings);
    const hits = verdicts.filter((v) => v.predicted === settings.target).length;
    status.textContent =
      `done in ${seconds.toFixed(1)} s on ${backend}` +
      (settings.guidance === 'class'
        ? `: the evaluator reads ${hits} of ${verdicts.length} as ${settings.target}`
        : '');
    const images = await imageBytes(result.images);
    (window.sagPage as NonNullable<Window['sagPage']>).lastRun = {
      settings,
      backend,
      images,
      verdicts,
      command,
      seconds,
    };
    setState('done');
  } finally {
    result.images.dispose();
  }
}

async function main(): Promise<void> {
  setState('loading');
  const params = new URLSearchParams(location.search);
  const choice = (params.get('backend') ?? 'auto') as PageBackendChoice;
  if (!['auto', 'webgpu', 'wasm'].includes(choice))
    throw new Error(`?backend=${choice}: expected auto, webgpu or wasm`);
  const backend = await startPageBackend(choice, 'wasm/');
  window.sagPage = {
    backend: backend.name,
    lastRun: null,
    error: null,
    numTensors: () => tf.memory().numTensors,
  };
  element('backend').textContent =
    `backend: ${backend.description}` +
    (backend.webgpuSkipped ? ` (not WebGPU: ${backend.webgpuSkipped})` : '');
  const backendChoice = element<HTMLSelectElement>('backend-choice');
  backendChoice.value = choice;
  // Another backend means another tfjs engine state: the page reloads with ?backend=.
  backendChoice.addEventListener('change', () => {
    params.set('backend', backendChoice.value);
    location.search = params.toString();
  });
  const models = await loadPageModels(backend.name);
  const views: PageViews = {
    plots: new StepPlots(element('loss-plot'), element('rho-plot')),
    history: new PreviewHistory(
      { sample: element('sample'), oneStep: element('one-step'), nStep: element('n-step') },
      element('n-step-caption'),
      element('step-slider'),
      element('step-label'),
      SCALE,
    ),
  };
  const stop = { requested: false };
  stopButton.addEventListener('click', () => {
    stop.requested = true;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    stop.requested = false;
    run(models, backend.name, views, stop).catch((error) => {
      if (error instanceof StopRequested) {
        status.textContent = 'stopped';
        setState('stopped');
      } else fail(error);
    });
  });
  status.textContent = `ready: ${tf.memory().numTensors} tensors loaded`;
  setState('ready');
}

main().catch(fail);
