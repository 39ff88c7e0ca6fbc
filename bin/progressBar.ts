import { SingleBar } from 'cli-progress';

/** A progress bar (steps, it/s, ETA) on a TTY; silent in pipes. */
export class StepProgress {
  private bar: SingleBar | null = null;
  private started = 0;

  constructor(private readonly label: string) {}

  update(done: number, total: number): void {
    if (!process.stderr.isTTY) return;
    if (!this.bar) {
      this.started = performance.now();
      this.bar = new SingleBar({
        format: `${this.label} [{bar}] {value}/{total} steps | {speed} it/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(total, 0, { speed: '0.00' });
    }
    const seconds = (performance.now() - this.started) / 1000;
    this.bar.update(done, { speed: (done / Math.max(seconds, 1e-9)).toFixed(2) });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
