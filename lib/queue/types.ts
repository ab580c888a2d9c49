/** One message as a queue consumer sees it (the same fields an SQS record carries). */
export interface QueueMessage<T> {
  /** Stable id of the message, the same on every receive (SQS messageId). */
  id: string;
  /** Handle of this one receive; delete and changeVisibility take it (SQS receiptHandle). */
  receiptHandle: string;
  body: T;
  /** How many times it has been received, this receive included (ApproximateReceiveCount). */
  receiveCount: number;
  /** When it was first sent, ms since the epoch. */
  sentAt: number;
}

export interface DeadLetter<T> {
  id: string;
  body: T;
  receiveCount: number;
  sentAt: number;
  /** When it moved to the dead-letter queue, ms since the epoch. */
  deadAt: number;
  /** The last failure recorded for it (recordFailure), if any. */
  lastError: string | null;
}

export interface QueueStats {
  /** Ready to be received now. */
  visible: number;
  /** Received and not yet deleted, still invisible. */
  inFlight: number;
  /** Sent with a delay that has not passed yet. */
  delayed: number;
  /** In the dead-letter queue. */
  dead: number;
}

export interface SendOptions {
  /** Seconds before the message can first be received. */
  delaySeconds?: number;
}

export interface ReceiveOptions {
  /** At most this many messages (1..10 as SQS allows). */
  maxMessages?: number;
  /** Seconds the received messages stay invisible to other consumers. */
  visibilityTimeoutSeconds?: number;
  /**
   * Long polling: wait up to this many seconds for a first message when none is ready
   * (SQS WaitTimeSeconds, 0..20). Default 0. An adapter without long polling answers at
   * once, so a poller must still cope with an empty receive.
   */
  waitSeconds?: number;
}

/**
 * A durable at-least-once queue with a dead-letter queue, shaped like SQS with a redrive
 * policy: a message received more than maxReceiveCount times moves to the dead-letter
 * queue instead of being returned.
 */
export interface JobQueue<T> {
  /** Durable when the promise resolves; returns the message id. */
  send(body: T, options?: SendOptions): Promise<string>;
  receive(options?: ReceiveOptions): Promise<QueueMessage<T>[]>;
  /** Removes a received message for good. Deleting with a stale handle is a no-op. */
  delete(receiptHandle: string): Promise<void>;
  /**
   * Removes several received messages, as delete does each (a stale handle is a no-op), in
   * as few requests as the queue allows: what Lambda's SQS event source does with the
   * successes of a batch. Rejects naming the handles it could not delete for another reason;
   * the others may be deleted all the same.
   */
  deleteMany(receiptHandles: string[]): Promise<void>;
  /** Makes a received message visible again after this many seconds (0: now). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Remembers why the last attempt at a message failed; kept when it dead-letters. */
  recordFailure(messageId: string, reason: string): Promise<void>;
  stats(): Promise<QueueStats>;
  /** The dead-letter queue, oldest first. */
  listDeadLetters(limit?: number): Promise<DeadLetter<T>[]>;
  /** Moves dead letters (all, or those ids) back to the queue with a fresh receive count; returns how many. */
  redrive(ids?: string[]): Promise<number>;
}

/** The last failure recorded for a message. */
export interface FailureRecord {
  reason: string;
  /** When it was recorded, ms since the epoch. */
  at: number;
}

/**
 * Where a queue that cannot keep data on its messages (SQS) keeps recordFailure's reasons,
 * by message id, until listDeadLetters reads them. Entries need no explicit removal: an
 * implementation may forget old ones (a size bound in memory, a TTL in DynamoDB).
 */
export interface FailureLog {
  put(messageId: string, reason: string): Promise<void>;
  /** The records of those ids that have one. */
  get(messageIds: readonly string[]): Promise<Map<string, FailureRecord>>;
}
