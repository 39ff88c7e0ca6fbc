/** A request the API refuses: the HTTP status and one line saying what was wrong (A1111's `detail`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
