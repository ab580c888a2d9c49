/** Events that could not be published, after the adapter's retries. */
export class EventsError extends Error {
  readonly code: string = 'EVENTS_PUBLISH_FAILED';
  constructor(
    message: string,
    /** The events that failed, with the reason the backend gave for each (when it gave one). */
    readonly failed: { id: string; errorCode?: string; errorMessage?: string }[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EventsError';
  }
}

/** One event is larger than the backend takes at all: retrying cannot help. */
export class EventTooLargeError extends EventsError {
  override readonly code = 'EVENT_TOO_LARGE';
  constructor(
    readonly id: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`event ${id} is ${size} bytes, over the ${limit} byte limit`, [
      { id, errorCode: 'EVENT_TOO_LARGE' },
    ]);
    this.name = 'EventTooLargeError';
  }
}
