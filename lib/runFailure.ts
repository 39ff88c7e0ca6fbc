/**
 * A run that failed for a reason other than its input: the sampling diverged (NaN or Inf), or the GPU device failed
 * or was lost. The CLI exits with code 1 for it; bad input exits with code 2.
 */
export class RunFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailedError';
  }
}
