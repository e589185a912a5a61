/**
 * The database could not be reached or did not answer in time (refused, cut, frozen, restarting).
 * Whoever sees such a failure throws this; the HTTP error boundary answers it with 503 and
 * Retry-After, so producers and Grafana retry instead of treating it as a bad request.
 */
export class DatabaseUnavailableError extends Error {
  constructor(
    message = 'the database is unavailable',
    /** Seconds a client should wait before retrying. */
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}
