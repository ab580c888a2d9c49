import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { JobQueueError } from '../errors.js';
import { MemoryFailureLog } from '../memory-failure-log.js';
import type {
  DeadLetter,
  FailureLog,
  FailureRecord,
  JobQueue,
  QueueMessage,
  QueueStats,
  ReceiveOptions,
  SendOptions,
} from '../types.js';

export interface SqsJobQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** The queue named in queueUrl's RedrivePolicy (createQueuePair makes both). */
  deadLetterQueueUrl: string;
  /**
   * The maxReceiveCount of the queue's RedrivePolicy, for display only: SQS itself moves a
   * message to the dead-letter queue, this adapter never counts.
   */
  maxReceiveCount?: number;
  /** Default visibility timeout of receive(). Default: the queue's own VisibilityTimeout. */
  visibilityTimeoutSeconds?: number;
  /** Default long-poll wait of receive(), 0..20. Default 0. */
  waitSeconds?: number;
  /**
   * Where recordFailure keeps reasons. Default: a MemoryFailureLog, which only works when
   * the process that records failures is the one that lists dead letters.
   */
  failureLog?: FailureLog;
  /**
   * Long-poll wait of each receive while listDeadLetters and redrive scan the dead-letter
   * queue. Default 1: SQS's short polling samples a subset of its servers and can answer
   * "empty" while messages wait, so on SQS a scan ends only on an empty long poll. An
   * emulator that answers short polls exactly can use 0.
   */
  deadLetterScanWaitSeconds?: number;
}

/** SQS's bounds on one ReceiveMessage (and batch) call, delays, visibility and long polls. */
const MAX_BATCH = 10;
const MAX_DELAY_SECONDS = 900;
const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_WAIT_SECONDS = 20;
/** How long a scan of the dead-letter queue holds what it received before releasing it. */
const SCAN_VISIBILITY_SECONDS = 30;

/**
 * Message attributes a redriven message carries, so it keeps the id and sentAt of the
 * message that died: a redrive is a new SQS message with a new MessageId.
 */
const ID_ATTRIBUTE = 'mailroom.id';
const SENT_AT_ATTRIBUTE = 'mailroom.sentAt';

/** Errors SQS gives for a receipt handle that is no longer current; the port makes them no-ops. */
const STALE_HANDLE_CODES = new Set(['ReceiptHandleIsInvalid', 'MessageNotInflight']);

/** One received SQS message, with both its SQS MessageId and the id the port shows. */
interface Received<T> extends QueueMessage<T> {
  sqsMessageId: string;
  rawBody: string;
}

/**
 * JobQueue on an SQS standard queue whose RedrivePolicy names a dead-letter queue. Bodies
 * are JSON. SQS does the visibility timeouts, receive counts and the move to the
 * dead-letter queue; this adapter adds what SQS has no place for:
 *
 * - **Ids across redrive.** A message's id is its SQS MessageId. SQS keeps the MessageId
 *   when it moves a message to the dead-letter queue, but redrive has to send a new
 *   message, so the redriven one carries the original id (and sentAt) as message
 *   attributes and receive reports those. Lambda's SQS event shows the new MessageId;
 *   the `mailroom.id` message attribute has the original.
 * - **recordFailure.** An SQS message cannot be changed once sent, so reasons go to a
 *   FailureLog by message id. The ingest Lambda records under the MessageId it sees,
 *   which after a redrive is not the port's id, so a dead letter takes the newer record
 *   of either id.
 * - **listDeadLetters is a peek.** SQS has no way to read a queue without receiving it:
 *   the listing receives from the dead-letter queue and then makes what it received
 *   visible again at once. Each listing therefore adds one to the messages' receive
 *   counts (the count reported leaves out the listing's own receive, not earlier ones),
 *   and two listings at the same moment each see only part of the queue. A listing that
 *   dies midway leaves its messages hidden for 30 seconds, nothing worse.
 * - **deadAt.** SQS does not record when it moved a message, and keeps the original
 *   SentTimestamp on the dead-letter copy. The best lower bound at hand is the last
 *   recorded failure: the move happens at the first receive after that attempt's
 *   visibility timeout. With no failure recorded, deadAt is sentAt.
 * - **redrive** sends each chosen dead letter's body to the queue as a new message and
 *   then deletes it from the dead-letter queue, so it starts over with receive count 0.
 *   A crash between the two leaves the job in both queues: at-least-once, like the rest
 *   of SQS, and ingest is idempotent by job id.
 *
 * SQS answers stats approximately, and a stale receipt handle may still delete or hide a
 * message on SQS itself (its documentation makes no promise either way); the emulator the
 * tests use is exact on both.
 */
export class SqsJobQueue<T> implements JobQueue<T> {
  /** The RedrivePolicy's maxReceiveCount as configured here, if it was given. */
  readonly maxReceiveCount: number | undefined;
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #deadLetterQueueUrl: string;
  readonly #visibilityTimeoutSeconds: number | undefined;
  readonly #waitSeconds: number;
  readonly #failureLog: FailureLog;
  readonly #scanWaitSeconds: number;

  constructor(options: SqsJobQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#deadLetterQueueUrl = options.deadLetterQueueUrl;
    this.maxReceiveCount = options.maxReceiveCount;
    this.#visibilityTimeoutSeconds = options.visibilityTimeoutSeconds;
    this.#waitSeconds = options.waitSeconds ?? 0;
    this.#failureLog = options.failureLog ?? new MemoryFailureLog();
    this.#scanWaitSeconds = options.deadLetterScanWaitSeconds ?? 1;
    if (this.#visibilityTimeoutSeconds !== undefined) {
      assertWholeSeconds('visibilityTimeoutSeconds', this.#visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    }
    assertWholeSeconds('waitSeconds', this.#waitSeconds, MAX_WAIT_SECONDS);
    assertWholeSeconds('deadLetterScanWaitSeconds', this.#scanWaitSeconds, MAX_WAIT_SECONDS);
  }

  async send(body: T, options: SendOptions = {}): Promise<string> {
    const delaySeconds = options.delaySeconds ?? 0;
    assertWholeSeconds('delaySeconds', delaySeconds, MAX_DELAY_SECONDS);
    return this.#call('send', async () => {
      const output = await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: JSON.stringify(body),
          DelaySeconds: delaySeconds,
        }),
      );
      if (!output.MessageId) throw new JobQueueError('SQS answered SendMessage without a MessageId');
      return output.MessageId;
    });
  }

  async receive(options: ReceiveOptions = {}): Promise<QueueMessage<T>[]> {
    const maxMessages = options.maxMessages ?? MAX_BATCH;
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > MAX_BATCH) {
      throw new JobQueueError(`maxMessages must be 1..${MAX_BATCH}, got ${maxMessages}`);
    }
    const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? this.#visibilityTimeoutSeconds;
    if (visibilityTimeoutSeconds !== undefined) {
      assertWholeSeconds('visibilityTimeoutSeconds', visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    }
    const waitSeconds = options.waitSeconds ?? this.#waitSeconds;
    assertWholeSeconds('waitSeconds', waitSeconds, MAX_WAIT_SECONDS);
    const received = await this.#call('receive', () =>
      this.#receiveFrom(this.#queueUrl, maxMessages, visibilityTimeoutSeconds, waitSeconds),
    );
    return received.map(({ id, receiptHandle, body, receiveCount, sentAt }) => ({
      id,
      receiptHandle,
      body,
      receiveCount,
      sentAt,
    }));
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.#call('delete', () => this.#deleteFrom(this.#queueUrl, receiptHandle));
  }

  /**
   * DeleteMessageBatch, ten handles a request (one request for a Lambda-sized batch instead
   * of one per message). An entry that fails because its handle is stale is ignored, as
   * delete ignores it; any other failed entry makes the call reject naming it, after every
   * chunk has been tried.
   */
  async deleteMany(receiptHandles: string[]): Promise<void> {
    if (receiptHandles.length === 0) return;
    await this.#call('deleteMany', async () => {
      const failures: string[] = [];
      for (let start = 0; start < receiptHandles.length; start += MAX_BATCH) {
        // The entry id is the handle's index in receiptHandles: unique, and what the error names.
        const entries = receiptHandles
          .slice(start, start + MAX_BATCH)
          .map((receiptHandle, n) => ({ Id: String(start + n), ReceiptHandle: receiptHandle }));
        const output = await this.#client.send(
          new DeleteMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
        );
        for (const entry of output.Failed ?? []) {
          if (isStaleHandleCode(entry.Code, entry.Message)) continue;
          failures.push(
            `entry ${entry.Id ?? '?'} (${entry.Code ?? 'no code'}: ${entry.Message ?? 'no message'})`,
          );
        }
      }
      if (failures.length > 0) {
        throw new JobQueueError(
          `deleteMany on queue ${this.#queueUrl} could not delete ${failures.length} of ` +
            `${receiptHandles.length} messages: ${failures.join('; ')}`,
        );
      }
    });
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    assertWholeSeconds('seconds', seconds, MAX_VISIBILITY_SECONDS);
    await this.#call('changeVisibility', async () => {
      try {
        await this.#client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.#queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      } catch (error) {
        if (!isStaleHandle(error)) throw error;
      }
    });
  }

  async recordFailure(messageId: string, reason: string): Promise<void> {
    await this.#call('recordFailure', () => this.#failureLog.put(messageId, reason));
  }

  async stats(): Promise<QueueStats> {
    return this.#call('stats', async () => {
      const [main, dead] = await Promise.all([
        this.#counts(this.#queueUrl),
        this.#counts(this.#deadLetterQueueUrl),
      ]);
      return {
        visible: main.visible,
        inFlight: main.inFlight,
        delayed: main.delayed,
        dead: dead.visible + dead.inFlight + dead.delayed,
      };
    });
  }

  async listDeadLetters(limit = 100): Promise<DeadLetter<T>[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new JobQueueError(`limit must be a positive integer, got ${limit}`);
    }
    return this.#call('listDeadLetters', async () => {
      const found: Received<T>[] = [];
      await this.#scanDeadLetters(async (message) => {
        found.push(message);
        return 'keep';
      }, limit);
      const failures = await this.#failureLog.get([...new Set(found.flatMap((m) => [m.id, m.sqsMessageId]))]);
      const letters = found.map((message): DeadLetter<T> => {
        const failure = newer(failures.get(message.id), failures.get(message.sqsMessageId));
        return {
          id: message.id,
          body: message.body,
          // The listing's own receive is not one of the message's attempts.
          receiveCount: Math.max(1, message.receiveCount - 1),
          sentAt: message.sentAt,
          deadAt: Math.max(message.sentAt, failure?.at ?? message.sentAt),
          lastError: failure?.reason ?? null,
        };
      });
      // SQS keeps no order; oldest first among those this scan happened to receive.
      return letters.sort((a, b) => a.deadAt - b.deadAt || a.sentAt - b.sentAt);
    });
  }

  async redrive(ids?: string[]): Promise<number> {
    if (ids !== undefined && ids.length === 0) return 0;
    const wanted = ids === undefined ? undefined : new Set(ids);
    return this.#call('redrive', async () => {
      let moved = 0;
      await this.#scanDeadLetters(async (message) => {
        if (wanted !== undefined && !wanted.has(message.id)) return 'keep';
        await this.#client.send(
          new SendMessageCommand({
            QueueUrl: this.#queueUrl,
            MessageBody: message.rawBody,
            MessageAttributes: {
              [ID_ATTRIBUTE]: { DataType: 'String', StringValue: message.id },
              [SENT_AT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(message.sentAt) },
            },
          }),
        );
        await this.#deleteFrom(this.#deadLetterQueueUrl, message.receiptHandle);
        moved++;
        return 'taken';
      });
      return moved;
    });
  }

  async #receiveFrom(
    queueUrl: string,
    maxMessages: number,
    visibilityTimeoutSeconds: number | undefined,
    waitSeconds: number,
  ): Promise<Received<T>[]> {
    const output = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: maxMessages,
        VisibilityTimeout: visibilityTimeoutSeconds,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        MessageAttributeNames: [ID_ATTRIBUTE, SENT_AT_ATTRIBUTE],
      }),
    );
    return (output.Messages ?? []).map((message) => parseMessage<T>(message));
  }

  async #deleteFrom(queueUrl: string, receiptHandle: string): Promise<void> {
    try {
      await this.#client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
    } catch (error) {
      if (!isStaleHandle(error)) throw error;
    }
  }

  /**
   * Receives the dead-letter queue batch by batch, at most `limit` messages, and hands each
   * to `visit`. What visit keeps is made visible again when the scan ends (not before, or
   * the next receive would return it again). The scan ends on an empty receive, or when a
   * receive brings back only messages already seen (a scan longer than its hold).
   */
  async #scanDeadLetters(
    visit: (message: Received<T>) => Promise<'keep' | 'taken'>,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const seen = new Set<string>();
    const held: string[] = [];
    try {
      while (seen.size < limit) {
        const batch = await this.#receiveFrom(
          this.#deadLetterQueueUrl,
          Math.min(MAX_BATCH, limit - seen.size),
          SCAN_VISIBILITY_SECONDS,
          this.#scanWaitSeconds,
        );
        let fresh = 0;
        for (const message of batch) {
          if (seen.has(message.sqsMessageId)) {
            held.push(message.receiptHandle);
            continue;
          }
          seen.add(message.sqsMessageId);
          fresh++;
          if ((await visit(message)) === 'keep') held.push(message.receiptHandle);
        }
        if (fresh === 0) break;
      }
    } finally {
      await this.#release(held);
    }
  }

  /** Makes held dead letters visible again. One that fails to is visible again in 30 s anyway. */
  async #release(receiptHandles: string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += MAX_BATCH) {
      const entries = receiptHandles.slice(i, i + MAX_BATCH).map((receiptHandle, n) => ({
        Id: String(n),
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: 0,
      }));
      await this.#client.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.#deadLetterQueueUrl, Entries: entries }),
      );
    }
  }

  async #counts(queueUrl: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
    const output = await this.#client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const attributes = output.Attributes ?? {};
    return {
      visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  /** Runs one operation, turning the SDK's errors into JobQueueError. */
  async #call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof JobQueueError) throw error;
      throw new JobQueueError(`${what} on queue ${this.#queueUrl} failed`, { cause: error });
    }
  }
}

function parseMessage<T>(message: Message): Received<T> {
  const sqsMessageId = message.MessageId;
  const receiptHandle = message.ReceiptHandle;
  const rawBody = message.Body;
  if (!sqsMessageId || !receiptHandle || rawBody === undefined) {
    throw new JobQueueError('SQS returned a message without MessageId, ReceiptHandle or Body');
  }
  let body: T;
  try {
    body = JSON.parse(rawBody) as T;
  } catch (error) {
    throw new JobQueueError(`message ${sqsMessageId} has a body that is not JSON`, { cause: error });
  }
  const attributes = message.Attributes ?? {};
  const sentAt =
    numberAttribute(message.MessageAttributes?.[SENT_AT_ATTRIBUTE]) ?? Number(attributes.SentTimestamp ?? 0);
  return {
    id: message.MessageAttributes?.[ID_ATTRIBUTE]?.StringValue ?? sqsMessageId,
    sqsMessageId,
    receiptHandle,
    body,
    rawBody,
    receiveCount: Number(attributes.ApproximateReceiveCount ?? 1),
    sentAt,
  };
}

function numberAttribute(value: MessageAttributeValue | undefined): number | undefined {
  const number = Number(value?.StringValue);
  return value?.StringValue !== undefined && Number.isFinite(number) ? number : undefined;
}

function newer(a: FailureRecord | undefined, b: FailureRecord | undefined): FailureRecord | undefined {
  if (!a || !b) return a ?? b;
  return b.at > a.at ? b : a;
}

/**
 * A handle from an earlier receive, or of a message since deleted or dead-lettered. Over
 * the JSON protocol the SDK names some errors with the query protocol's
 * `AWS.SimpleQueueService.` prefix; an expired handle comes as InvalidParameterValue.
 */
function isStaleHandle(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return isStaleHandleCode(String((error as { Code?: unknown }).Code ?? error.name), error.message);
}

/** The same test on an error's code and message: a failed entry of a batch has no Error. */
function isStaleHandleCode(rawCode: string | undefined, message: string | undefined): boolean {
  const code = (rawCode ?? '').replace(/^AWS\.SimpleQueueService\./, '');
  if (STALE_HANDLE_CODES.has(code)) return true;
  return code === 'InvalidParameterValue' && /receipt ?handle/i.test(message ?? '');
}

function assertWholeSeconds(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new JobQueueError(`${name} must be a whole number of seconds 0..${max}, got ${value}`);
  }
}
