import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { JobQueueError } from '../errors.js';

export interface QueuePairOptions {
  /** Receives before SQS moves a message to the dead-letter queue. */
  maxReceiveCount: number;
  /** The queue's default visibility timeout. Default 30 (SQS's own default). */
  visibilityTimeoutSeconds?: number;
}

export interface QueuePair {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

/**
 * SQS's longest retention, on both queues. Mail waiting on a broken ingest must not expire
 * after SQS's default of 4 days, and a standard queue counts retention from the original
 * send even in the dead-letter queue, so that one needs at least as long.
 */
const RETENTION_SECONDS = 14 * 24 * 60 * 60;

/**
 * Creates `<name>` and its dead-letter queue `<name>-dlq` with the RedrivePolicy between
 * them, for tests and the CLI (the cloud gets its queues from the CDK stack). Creating a
 * queue that exists with the same attributes is a no-op in SQS, so this is safe to repeat.
 */
export async function createQueuePair(
  client: SQSClient,
  name: string,
  options: QueuePairOptions,
): Promise<QueuePair> {
  const { maxReceiveCount, visibilityTimeoutSeconds = 30 } = options;
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw new JobQueueError(`maxReceiveCount must be 1..1000, got ${maxReceiveCount}`);
  }
  try {
    const dead = await client.send(
      new CreateQueueCommand({
        QueueName: `${name}-dlq`,
        Attributes: { MessageRetentionPeriod: String(RETENTION_SECONDS) },
      }),
    );
    const deadLetterQueueUrl = required(dead.QueueUrl, 'QueueUrl');
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const deadLetterTargetArn = required(Attributes?.QueueArn, 'QueueArn');
    const main = await client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          MessageRetentionPeriod: String(RETENTION_SECONDS),
          VisibilityTimeout: String(visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn, maxReceiveCount }),
        },
      }),
    );
    return { queueUrl: required(main.QueueUrl, 'QueueUrl'), deadLetterQueueUrl };
  } catch (error) {
    if (error instanceof JobQueueError) throw error;
    throw new JobQueueError(`cannot create the queues ${name} and ${name}-dlq`, { cause: error });
  }
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new JobQueueError(`SQS answered without a ${what}`);
  return value;
}
