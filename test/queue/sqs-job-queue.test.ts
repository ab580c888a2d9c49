import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type BatchResultErrorEntry,
  type DeleteMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createQueuePair,
  MemoryFailureLog,
  SqsJobQueue,
  type QueuePair,
  type SqsJobQueueOptions,
} from '../../lib/queue/index.js';
import { runJobQueueContract } from '../contract/job-queue.contract.js';
import type { Job } from '../contract/job-queue.contract.js';
import { clientConfig, uniqueName } from '../helpers/aws.js';

async function deleteQueuePair(client: SQSClient, pair: QueuePair): Promise<void> {
  await client.send(new DeleteQueueCommand({ QueueUrl: pair.queueUrl }));
  await client.send(new DeleteQueueCommand({ QueueUrl: pair.deadLetterQueueUrl }));
}

runJobQueueContract('SqsJobQueue on fauxqs', async ({ maxReceiveCount, visibilityTimeoutSeconds }) => {
  const client = new SQSClient(clientConfig('fauxqs'));
  const pair = await createQueuePair(client, uniqueName('jobs'), {
    maxReceiveCount,
    visibilityTimeoutSeconds,
  });
  // fauxqs answers a short poll with every ready message, so a scan of the dead letters
  // need not end on a long poll (as it must on SQS): that keeps each listing instant.
  const queue = new SqsJobQueue<Job>({ client, ...pair, maxReceiveCount, deadLetterScanWaitSeconds: 0 });
  return {
    queue,
    clock: 'real',
    cleanup: async () => {
      await deleteQueuePair(client, pair);
      client.destroy();
    },
  };
});

describe('SqsJobQueue', () => {
  let client: SQSClient;
  let pair: QueuePair;

  function openQueue(options: Partial<SqsJobQueueOptions> = {}): SqsJobQueue<Job> {
    return new SqsJobQueue<Job>({ client, ...pair, deadLetterScanWaitSeconds: 0, ...options });
  }

  /** Receives what is ready and makes it visible again: one failed attempt of each. */
  async function failOnce(queue: SqsJobQueue<Job>): Promise<void> {
    const messages = await queue.receive();
    if (messages.length === 0) throw new Error('expected messages');
    for (const message of messages) await queue.changeVisibility(message.receiptHandle, 0);
  }

  beforeEach(async () => {
    client = new SQSClient(clientConfig('fauxqs'));
    // One receive and the next receive dead-letters it: the quickest way to a dead letter.
    pair = await createQueuePair(client, uniqueName('sqs-jobs'), {
      maxReceiveCount: 1,
      visibilityTimeoutSeconds: 5,
    });
  });

  afterEach(async () => {
    await deleteQueuePair(client, pair);
    client.destroy();
  });

  it('creates the queue with its visibility timeout and a RedrivePolicy to the dead-letter queue', async () => {
    // Act
    const [main, dead] = await Promise.all(
      [pair.queueUrl, pair.deadLetterQueueUrl].map((url) =>
        client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })),
      ),
    );

    // Assess
    expect(main?.Attributes?.VisibilityTimeout).toBe('5');
    expect(JSON.parse(main?.Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dead?.Attributes?.QueueArn,
      maxReceiveCount: 1,
    });
    expect(dead?.Attributes?.MessageRetentionPeriod).toBe(String(14 * 24 * 3600));
  });

  it('keeps id and sentAt across a redrive, though SQS gives the redriven message a new MessageId', async () => {
    // Prepare
    const queue = openQueue();
    const id = await queue.send({ n: 1 });
    const [first] = await queue.receive();
    await queue.changeVisibility(first!.receiptHandle, 0);
    expect(await queue.receive()).toEqual([]);

    // Act
    await queue.redrive();
    const raw = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: pair.queueUrl,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
      }),
    );
    await queue.receive(); // its one receive is used up: back to the dead-letter queue
    const dead = await queue.listDeadLetters();

    // Assess
    const sqsMessage = raw.Messages?.[0];
    expect(sqsMessage?.MessageId).not.toBe(id);
    expect(sqsMessage?.MessageAttributes?.['mailroom.id']?.StringValue).toBe(id);
    expect(dead).toMatchObject([{ id, sentAt: first!.sentAt, body: { n: 1 } }]);
  });

  it('finds a failure the Lambda recorded under the MessageId of a redriven message', async () => {
    // Prepare
    const queue = openQueue();
    const id = await queue.send({ n: 1 });
    await queue.recordFailure(id, 'TypeError: before the redrive');
    await failOnce(queue);
    await queue.receive();
    await queue.redrive();

    // Act: the Lambda's record carries SQS's MessageId, not the port's id.
    const raw = await client.send(new ReceiveMessageCommand({ QueueUrl: pair.queueUrl }));
    const sqsMessage = raw.Messages![0]!;
    await queue.recordFailure(sqsMessage.MessageId!, 'TypeError: after the redrive');
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: pair.queueUrl,
        ReceiptHandle: sqsMessage.ReceiptHandle!,
        VisibilityTimeout: 0,
      }),
    );
    await queue.receive();
    const dead = await queue.listDeadLetters();

    // Assess
    expect(dead.map((d) => [d.id, d.lastError])).toEqual([[id, 'TypeError: after the redrive']]);
  });

  it('lists dead letters without taking them: a listing is a peek', async () => {
    // Prepare: the default scan, ending on a long poll as it must on SQS.
    const queue = openQueue({ deadLetterScanWaitSeconds: 1 });
    const ids = [await queue.send({ n: 1 }), await queue.send({ n: 2 })];
    await failOnce(queue);
    expect(await queue.receive()).toEqual([]);

    // Act
    const first = await queue.listDeadLetters();
    const second = await queue.listDeadLetters();
    const stats = await queue.stats();

    // Assess
    expect(new Set(first.map((d) => d.id))).toEqual(new Set(ids));
    expect(new Set(second.map((d) => d.id))).toEqual(new Set(ids));
    expect(stats).toEqual({ visible: 0, inFlight: 0, delayed: 0, dead: 2 });
  });

  it('dates a dead letter by its last recorded failure', async () => {
    // Prepare
    let now = Date.now() + 60_000;
    const queue = openQueue({ failureLog: new MemoryFailureLog({ now: () => now }) });
    const id = await queue.send({ n: 1 });
    await queue.recordFailure(id, 'first');
    now += 1000;
    await queue.recordFailure(id, 'last');
    await failOnce(queue);
    await queue.receive();

    // Act
    const [dead] = await queue.listDeadLetters();

    // Assess
    expect(dead).toMatchObject({ id, lastError: 'last', deadAt: now });
  });

  it('long-polls with waitSeconds until a message arrives', async () => {
    // Prepare
    const queue = openQueue();
    const sender = openQueue();
    const started = Date.now();
    setTimeout(() => void sender.send({ n: 5 }), 300);

    // Act
    const messages = await queue.receive({ waitSeconds: 5 });

    // Assess
    expect(messages.map((m) => m.body)).toEqual([{ n: 5 }]);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('refuses what SQS would refuse before sending it', async () => {
    // Prepare
    const queue = openQueue();

    // Act
    const outcomes = await Promise.allSettled([
      queue.send({ n: 1 }, { delaySeconds: 901 }),
      queue.send({ n: 1 }, { delaySeconds: 1.5 }),
      queue.receive({ visibilityTimeoutSeconds: 0.5 }),
      queue.receive({ waitSeconds: 21 }),
      queue.changeVisibility('handle', 43_201),
      queue.listDeadLetters(0),
    ]);

    // Assess
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { name: 'JobQueueError' } });
    }
  });

  it('turns an SQS error into a JobQueueError', async () => {
    // Prepare
    const queue = openQueue({ queueUrl: `${pair.queueUrl}-missing` });

    // Act
    const error = await queue.send({ n: 1 }).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'JobQueueError' });
    expect((error as Error).cause).toMatchObject({ name: 'QueueDoesNotExist' });
  });
});

/**
 * fauxqs never fails an entry of a DeleteMessageBatch (it deletes or ignores each), so what
 * deleteMany makes of SQS's per-entry failures is tried on a scripted client.
 */
describe('SqsJobQueue.deleteMany on a scripted SQS', () => {
  const URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/scripted';

  /** A client that answers each DeleteMessageBatch with the failures `fail` picks for its entries. */
  function scripted(fail: (id: string) => BatchResultErrorEntry | undefined = () => undefined) {
    const requests: DeleteMessageBatchCommandInput[] = [];
    const client = {
      async send(command: unknown) {
        if (!(command instanceof DeleteMessageBatchCommand)) throw new Error('unexpected command');
        requests.push(command.input);
        const ids = (command.input.Entries ?? []).map((entry) => entry.Id!);
        const failed = ids.flatMap((id) => fail(id) ?? []);
        return {
          Successful: ids.filter((id) => !failed.some((f) => f.Id === id)).map((Id) => ({ Id })),
          Failed: failed,
        };
      },
    } as unknown as SQSClient;
    const queue = new SqsJobQueue<Job>({ client, queueUrl: URL, deadLetterQueueUrl: `${URL}-dlq` });
    return { queue, requests };
  }

  const handles = (count: number) => Array.from({ length: count }, (_, n) => `handle-${n}`);

  it('sends ten handles a request, each entry with an id of its own', async () => {
    // Prepare
    const { queue, requests } = scripted();

    // Act
    await queue.deleteMany(handles(25));
    await queue.deleteMany([]);

    // Assess
    expect(requests.map((r) => r.Entries?.length)).toEqual([10, 10, 5]);
    const entries = requests.flatMap((r) => r.Entries ?? []);
    expect(entries.map((e) => e.ReceiptHandle)).toEqual(handles(25));
    expect(new Set(entries.map((e) => e.Id)).size).toBe(25);
    expect(requests.every((r) => r.QueueUrl === URL)).toBe(true);
  });

  it.each([
    ['ReceiptHandleIsInvalid', 'The receipt handle "x" is not valid for this queue.'],
    ['AWS.SimpleQueueService.ReceiptHandleIsInvalid', 'The receipt handle is not valid.'],
    ['MessageNotInflight', 'The message is not in flight.'],
    [
      'InvalidParameterValue',
      'Value x for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.',
    ],
  ])('ignores an entry that failed with %s, as delete ignores a stale handle', async (Code, Message) => {
    // Prepare
    const { queue } = scripted((Id) => (Id === '3' ? { Id, Code, Message, SenderFault: true } : undefined));

    // Act
    const deleting = queue.deleteMany(handles(5));

    // Assess
    await expect(deleting).resolves.toBeUndefined();
  });

  it('rejects naming an entry that failed for another reason, after trying every request', async () => {
    // Prepare
    const { queue, requests } = scripted((Id) =>
      Id === '3' ? { Id, Code: 'InternalError', Message: 'try again', SenderFault: false } : undefined,
    );

    // Act
    const error = await queue.deleteMany(handles(12)).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'JobQueueError' });
    expect((error as Error).message).toMatch(/1 of 12 messages: entry 3 \(InternalError: try again\)/);
    expect(requests).toHaveLength(2);
  });
});
