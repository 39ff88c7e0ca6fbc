import { SingleBar } from 'cli-progress';

const PLAIN_LINE_INTERVAL_MS = 2000;

/**
 * A progress bar (steps, it/s, ETA) on a TTY; silent in pipes unless `evenWithoutTerminal`, which prints a plain
 * line at least every 2 s while steps complete, and at the end (for logs). The plain lines are written from
 * update() itself rather than from a timer: the sampling loop rarely yields to the event loop's timers.
 */
export class StepProgress {
  private bar: SingleBar | null = null;
  /** The work starts when the progress is made: callers make it right before their loop. */
  private readonly started = performance.now();
  private lastLine = -Infinity;

  constructor(
    private readonly label: string,
    private readonly options: { evenWithoutTerminal?: boolean; unit?: string } = {},
  ) {}

  update(done: number, total: number): void {
    const terminal = Boolean(process.stderr.isTTY);
    if (!terminal && !this.options.evenWithoutTerminal) return;
    const now = performance.now();
    const seconds = (now - this.started) / 1000;
    const speed = done / Math.max(seconds, 1e-9);
    if (!terminal) {
      if (now - this.lastLine < PLAIN_LINE_INTERVAL_MS && done < total) return;
      this.lastLine = now;
      const eta = done > 0 ? ((total - done) / speed).toFixed(0) : '?';
      process.stderr.write(
        `${this.label} ${done}/${total} ${this.unit} | ${speed.toFixed(2)} it/s | ETA ${eta} s\n`,
      );
      return;
    }
    if (!this.bar) {
      this.bar = new SingleBar({
        format: `${this.label} [{bar}] {value}/{total} ${this.unit} | {speed} it/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      });
      this.bar.start(total, 0, { speed: '0.00' });
    }
    this.bar.update(done, { speed: speed.toFixed(2) });
  }

  private get unit(): string {
    return this.options.unit ?? 'steps';
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
