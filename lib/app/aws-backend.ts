import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Config } from '../config.js';
import type { IngestJob } from '../ingest/types.js';
import { S3BlobStore } from '../blob/s3/s3-blob-store.js';
import { SqsJobQueue } from '../queue/sqs/sqs-job-queue.js';
import { DynamoDbFailureLog } from '../queue/sqs/dynamodb-failure-log.js';
import { DynamoDbStore } from '../store/dynamodb/dynamodb-store.js';
import { searchText } from '../mail/search-text.js';
import { SesOutbound } from '../outbound/ses-outbound.js';
import { EventBridgeEvents } from '../events/eventbridge.js';
import { cachedDirectory } from '../routing/directory-cache.js';
import type { Backend } from './mailroom.js';

/** Every AWS SDK client the aws backend makes. */
export type AwsClient = S3Client | SQSClient | DynamoDBClient | SESv2Client | EventBridgeClient;

export interface OpenAwsOptions {
  /** Called with each client before its first request: where middleware goes (bench/cost.ts counts requests). */
  onClient?: (client: AwsClient) => void;
}

/**
 * The aws backend: S3 for raw messages, SQS for ingest jobs, one DynamoDB table for the
 * directory, the mailboxes and the failure log, SES for outbound mail, EventBridge for
 * events. Names and endpoint overrides come from the configuration (lib/config.ts);
 * credentials from the SDK's usual chain (the task or function role in the cloud).
 */
export function openAws(config: Config, options: OpenAwsOptions = {}): Backend {
  const region = config.awsRegion ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const client = (endpoint: string | undefined, extra: object = {}) => ({
    region,
    ...(endpoint ? { endpoint } : {}),
    ...extra,
  });
  const s3 = new S3Client(client(config.s3Endpoint, { forcePathStyle: config.s3Endpoint !== undefined }));
  const sqs = new SQSClient(client(config.sqsEndpoint));
  const dynamodb = new DynamoDBClient(client(config.dynamodbEndpoint));
  const ses = new SESv2Client(client(config.sesEndpoint));
  const eventbridge = config.eventBus ? new EventBridgeClient(client(config.eventbridgeEndpoint)) : undefined;
  for (const made of [s3, sqs, dynamodb, ses, eventbridge]) if (made) options.onClient?.(made);
  const table = config.table!;
  const blobs = new S3BlobStore({
    client: s3,
    bucket: config.bucket!,
    ...(config.bucketPrefix ? { prefix: config.bucketPrefix } : {}),
  });
  const queue = new SqsJobQueue<IngestJob>({
    client: sqs,
    queueUrl: config.queueUrl!,
    deadLetterQueueUrl: config.deadLetterQueueUrl!,
    maxReceiveCount: config.maxReceiveCount,
    failureLog: new DynamoDbFailureLog(dynamodb, table),
  });
  const store = new DynamoDbStore({
    client: dynamodb,
    tableName: table,
    // The search text of a message too long to keep it inline is read from the raw message
    // when SEARCH needs it: 3 write units of 4 saved on every such delivery.
    readText: (key) => searchText(blobs, key),
  });
  const outbound = new SesOutbound({
    client: ses,
    bounceAddress: config.bounceAddress ?? `mailer-daemon@${config.hostname}`,
    ...(config.sesConfigurationSet ? { configurationSetName: config.sesConfigurationSet } : {}),
  });
  const events = eventbridge
    ? new EventBridgeEvents({ client: eventbridge, eventBusName: config.eventBus })
    : undefined;
  return {
    kind: 'aws',
    blobs,
    queue,
    store,
    outbound,
    ...(events ? { events } : {}),
    rawBucket: config.bucket!,
    // SMTP RCPT and ingest resolve every recipient; on DynamoDB each read is a billed request.
    ...cachedDirectory(store, config.directoryCacheSeconds),
    async close() {
      await outbound.close?.();
      await store.close();
      s3.destroy();
      sqs.destroy();
      dynamodb.destroy();
      ses.destroy();
      eventbridge?.destroy();
    },
  };
}
