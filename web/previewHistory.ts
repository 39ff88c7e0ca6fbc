import { StepPreview } from '../lib/pipeline/stepPreview';
import { paintScaled, renderStrip } from './imageStrip';

interface StepFrames {
  step: number;
  timestep: number;
  caption: string;
  sample: HTMLCanvasElement;
  oneStep: HTMLCanvasElement;
  nStep: HTMLCanvasElement;
}

/**
 * Every step's three previews (x_t, one-step and n-step estimate, each a column of the run's images), kept as
 * small canvases so that a slider can go back to any step after (or during) the run.
 */
export class PreviewHistory {
  private frames: StepFrames[] = [];
  private following = true;

  constructor(
    private readonly targets: {
      sample: HTMLCanvasElement;
      oneStep: HTMLCanvasElement;
      nStep: HTMLCanvasElement;
    },
    private readonly caption: HTMLElement,
    private readonly slider: HTMLInputElement,
    private readonly sliderLabel: HTMLElement,
    private readonly scale: number,
  ) {
    slider.addEventListener('input', () => {
      const index = Number(slider.value);
      this.following = index === this.frames.length - 1;
      this.show(index);
    });
  }

  clear(): void {
    this.frames = [];
    this.following = true;
    this.slider.max = '0';
    this.slider.value = '0';
    this.slider.disabled = true;
  }

  async add(preview: StepPreview): Promise<void> {
    const [sample, oneStep, nStep] = await Promise.all([
      renderStrip(preview.sample, 'column'),
      renderStrip(preview.oneStep, 'column'),
      renderStrip(preview.nStep, 'column'),
    ]);
    const caption = preview.judged
      ? `${preview.n}-step estimate (what SAG judges)`
      : `${preview.n}-step estimate (solved for this view only)`;
    this.frames.push({ step: preview.step, timestep: preview.timestep, caption, sample, oneStep, nStep });
    this.slider.max = String(this.frames.length - 1);
    this.slider.disabled = false;
    if (this.following) {
      this.slider.value = this.slider.max;
      this.show(this.frames.length - 1);
    }
  }

  show(index: number): void {
    const frame = this.frames[index];
    if (!frame) return;
    paintScaled(this.targets.sample, frame.sample, this.scale);
    paintScaled(this.targets.oneStep, frame.oneStep, this.scale);
    paintScaled(this.targets.nStep, frame.nStep, this.scale);
    this.caption.textContent = frame.caption;
    this.sliderLabel.textContent = `main step ${frame.step + 1} (t = ${frame.timestep})`;
  }
}
