import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig, type Config } from '../../lib/config.js';
import { createQueuePair } from '../../lib/queue/sqs/queue-pair.js';
import { createTable, deleteTable } from '../../lib/store/dynamodb/schema.js';
import { clientConfig, emulators, uniqueName } from './aws.js';
import { tempDir } from './mailroom.js';

export interface AwsStack {
  /** MAILROOM_* variables that point a process at this stack on the emulators. */
  env: Record<string, string>;
  /** The same as a Config, with ports 0 and dev loopback settings. */
  config: Config;
  cleanup(): Promise<void>;
}

/**
 * A fresh "stack" on the emulators: a DynamoDB table, an S3 bucket and an SQS queue pair
 * with a redrive policy, as the CDK stack will make them in the cloud.
 */
export async function createAwsStack(
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<AwsStack> {
  const name = uniqueName('mr');
  const endpoints = emulators();
  const dynamodb = new DynamoDBClient(clientConfig('dynamodb'));
  const s3 = new S3Client({ ...clientConfig('fauxqs'), forcePathStyle: true });
  const sqs = new SQSClient(clientConfig('fauxqs'));
  const maxReceiveCount = options.maxReceiveCount ?? 3;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 5;
  try {
    await createTable(dynamodb, name);
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    const queues = await createQueuePair(sqs, name, { maxReceiveCount, visibilityTimeoutSeconds });
    const env: Record<string, string> = {
      MAILROOM_BACKEND: 'aws',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      MAILROOM_TABLE: name,
      MAILROOM_BUCKET: name,
      MAILROOM_QUEUE_URL: queues.queueUrl,
      MAILROOM_DLQ_URL: queues.deadLetterQueueUrl,
      MAILROOM_DYNAMODB_ENDPOINT: endpoints.dynamodb,
      MAILROOM_S3_ENDPOINT: endpoints.fauxqs,
      MAILROOM_SQS_ENDPOINT: endpoints.fauxqs,
      MAILROOM_SES_ENDPOINT: endpoints.ses,
      MAILROOM_MAX_RECEIVE_COUNT: String(maxReceiveCount),
      MAILROOM_VISIBILITY_TIMEOUT: String(visibilityTimeoutSeconds),
    };
    // The SDK reads credentials from the environment of this process too.
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    const dataDir = await tempDir();
    const config = loadConfig(
      {
        dataDir,
        smtpPort: 0,
        submissionPort: 0,
        imapPort: 0,
        imapTlsPort: 0,
        pop3Port: 0,
        pop3TlsPort: 0,
        healthPort: 0,
        logLevel: 'silent',
      },
      env,
    );
    return {
      env,
      config,
      async cleanup() {
        await deleteTable(dynamodb, name).catch(() => undefined);
        dynamodb.destroy();
        s3.destroy();
        sqs.destroy();
      },
    };
  } catch (err) {
    dynamodb.destroy();
    s3.destroy();
    sqs.destroy();
    throw err;
  }
}
