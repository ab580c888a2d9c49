export class JobQueueError extends Error {
  readonly code: string = 'JOB_QUEUE_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JobQueueError';
  }
}
