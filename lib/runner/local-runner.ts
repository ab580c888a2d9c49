import type { JobQueue, QueueMessage } from '../queue/types.js';
import type { SqsBatchResponse, SqsEvent } from '../queue/sqs-event.js';
import type { Logger } from '../log.js';

export type BatchHandler = (event: SqsEvent, context: object) => Promise<SqsBatchResponse | void>;

export interface LocalRunnerOptions {
  /** Records per batch, as the Lambda event source's BatchSize (1..10). */
  batchSize?: number;
  visibilityTimeoutSeconds?: number;
  /** How long to sleep when the queue is empty and nothing woke the runner. */
  idlePollMs?: number;
  /** Long polling: seconds a receive waits for a message (SQS; the embedded queue answers at once). */
  waitSeconds?: number;
  /** Retry delay after a failure: base × 2^(receives-1), capped. */
  retryBaseSeconds?: number;
  retryMaxSeconds?: number;
}

/**
 * Plays the part of Lambda's SQS event source on one machine: receives batches from the
 * JobQueue, hands them to the same handler Lambda would run, deletes what succeeded and
 * makes the failures visible again after a backoff (the queue dead-letters them after its
 * maxReceiveCount, as an SQS redrive policy does).
 */
export class LocalRunner<T> {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly options: Required<LocalRunnerOptions>;

  constructor(
    private readonly queue: JobQueue<T>,
    private readonly handler: BatchHandler,
    private readonly logger: Logger,
    options: LocalRunnerOptions = {},
  ) {
    this.options = {
      batchSize: 10,
      visibilityTimeoutSeconds: 120,
      idlePollMs: 250,
      waitSeconds: 0,
      retryBaseSeconds: 1,
      retryMaxSeconds: 300,
      ...options,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Something was queued: look now instead of at the next poll. */
  notify(): void {
    this.wake?.();
  }

  /** Finishes the batch in hand, then stops; messages not yet received stay in the queue. */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loop;
  }

  /** Runs until the queue has nothing visible; for tests and one-shot CLI use. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const handled = await this.runOnce();
      if (handled === 0) return total;
      total += handled;
    }
  }

  /** Receives and handles one batch; returns how many messages it held. */
  async runOnce(): Promise<number> {
    const messages = await this.queue.receive({
      maxMessages: this.options.batchSize,
      visibilityTimeoutSeconds: this.options.visibilityTimeoutSeconds,
      ...(this.options.waitSeconds > 0 ? { waitSeconds: this.options.waitSeconds } : {}),
    });
    if (messages.length === 0) return 0;
    const event = toSqsEvent(messages);
    let failed: Set<string>;
    try {
      const response = await this.handler(event, {});
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // A handler that throws fails its whole batch, as on Lambda.
      this.logger.error({ err }, 'batch handler threw; every record of the batch is retried');
      failed = new Set(messages.map((m) => m.id));
    }
    // The successes go in one deleteMany (one DeleteMessageBatch on SQS), as the event source
    // deletes them; first, so a failing changeVisibility cannot leave them to run again.
    const succeeded = messages.filter((m) => !failed.has(m.id)).map((m) => m.receiptHandle);
    if (succeeded.length > 0) await this.queue.deleteMany(succeeded);
    for (const message of messages) {
      if (!failed.has(message.id)) continue;
      const delay = Math.min(
        this.options.retryMaxSeconds,
        this.options.retryBaseSeconds * 2 ** (message.receiveCount - 1),
      );
      await this.queue.changeVisibility(message.receiptHandle, delay);
    }
    return messages.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (err) {
        this.logger.error({ err }, 'queue receive failed');
      }
      if (handled === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.idlePollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}

function toSqsEvent<T>(messages: QueueMessage<T>[]): SqsEvent {
  return {
    Records: messages.map((message) => ({
      messageId: message.id,
      receiptHandle: message.receiptHandle,
      body: JSON.stringify(message.body),
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
      },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:000000000000:mailroom-ingest',
      awsRegion: 'local',
    })),
  };
}
