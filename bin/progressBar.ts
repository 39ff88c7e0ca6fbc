import { SingleBar } from 'cli-progress';

/**
 * A progress bar (steps, it/s, ETA) on a TTY; silent in pipes unless `evenWithoutTerminal`, which prints a plain
 * line every few seconds and at the end (for logs).
 */
export class StepProgress {
  private bar: SingleBar | null = null;
  private started = 0;

  constructor(
    private readonly label: string,
    private readonly options: { evenWithoutTerminal?: boolean } = {},
  ) {}

  update(done: number, total: number): void {
    const terminal = Boolean(process.stderr.isTTY);
    if (!terminal && !this.options.evenWithoutTerminal) return;
    if (!this.bar) {
      this.started = performance.now();
      this.bar = new SingleBar({
        format: terminal
          ? `${this.label} [{bar}] {value}/{total} steps | {speed} it/s | ETA {eta_formatted}`
          : `${this.label} {value}/{total} steps | {speed} it/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: terminal,
        noTTYOutput: !terminal,
        notTTYSchedule: 2000,
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
