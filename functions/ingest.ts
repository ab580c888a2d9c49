import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SqsBatchResponse, SqsEvent, SqsRecord } from '../lib/queue/sqs-event.js';
import type { JobQueue } from '../lib/queue/types.js';
import type { IngestJob } from '../lib/ingest/types.js';
import { ingestJob, parseJob } from '../lib/ingest/service.js';
import { ingestS3Notification, parseS3Notification, type S3IngestDeps } from '../lib/ingest/s3-event.js';

export interface IngestHandlerDeps extends S3IngestDeps {
  /** Where a record's failure reason is kept, so a dead letter says why it died. */
  queue: Pick<JobQueue<IngestJob>, 'recordFailure'>;
}

/**
 * The ingest Lambda: one SQS batch in, the ids of the records that failed out
 * (ReportBatchItemFailures, through @middy/sqs-partial-batch-failure), so one bad message
 * never makes its batch-mates run again. A record's handler throws to fail its own record.
 * Records of a batch run one after another: they often share a mailbox, and UIDs are
 * assigned in order anyway.
 */
export function createIngestHandler(deps: IngestHandlerDeps) {
  async function processRecord(record: SqsRecord): Promise<void> {
    try {
      // A job from the SMTP ingress, or (SES ingress) S3's notice of a message SES stored.
      const notification = parseS3Notification(record.body);
      if (notification) await ingestS3Notification(deps, notification);
      else await ingestJob(deps, parseJob(record.body));
    } catch (err) {
      // Kept with the message, so a dead letter says why it died.
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      await deps.queue.recordFailure(record.messageId, reason).catch((recordErr: unknown) => {
        deps.logger.error({ err: recordErr }, 'could not record the failure reason');
      });
      throw err;
    }
  }

  return middy<SqsEvent, SqsBatchResponse>()
    .use(
      sqsPartialBatchFailure({
        logger: (reason: unknown, record: SqsRecord) =>
          deps.logger.error(
            {
              err: reason,
              messageId: record.messageId,
              receiveCount: record.attributes.ApproximateReceiveCount,
            },
            'ingest failed',
          ),
      }),
    )
    .handler(async (event) => {
      const settled: PromiseSettledResult<void>[] = [];
      for (const record of event.Records) {
        const [result] = await Promise.allSettled([processRecord(record)]);
        settled.push(result!);
      }
      // The middleware turns the settled results into { batchItemFailures }.
      return settled as unknown as SqsBatchResponse;
    });
}

type IngestHandler = ReturnType<typeof createIngestHandler>;
let wired: Promise<IngestHandler> | undefined;

/**
 * The Lambda entry point (Node 22, bundled by esbuild into one file). Nothing is read or
 * connected at import: the first invocation loads the configuration from the environment
 * (MAILROOM_BACKEND=aws, table, bucket, queues, bus) and the adapters, lazily imported, and
 * later invocations of the same instance reuse them. A wiring failure is not cached, so the
 * next invocation tries again.
 */
export async function handler(event: SqsEvent, context: object): Promise<SqsBatchResponse> {
  wired ??= wire().catch((err: unknown) => {
    wired = undefined;
    throw err;
  });
  return (await wired)(event, context as never);
}

async function wire(): Promise<IngestHandler> {
  const [{ loadConfig, ConfigError }, { openBackend }, { createLogger }] = await Promise.all([
    import('../lib/config.js'),
    import('../lib/app/backend.js'),
    import('../lib/log.js'),
  ]);
  const config = loadConfig({}, process.env);
  if (config.backend !== 'aws') {
    throw new ConfigError(
      'the ingest Lambda runs on the aws backend: set MAILROOM_BACKEND=aws and its names',
    );
  }
  const logger = createLogger({ level: config.logLevel, pretty: false });
  const backend = await openBackend(config);
  return createIngestHandler({
    ...backend,
    logger: logger.child({ component: 'ingest' }),
    ...(config.bucketPrefix ? { blobPrefix: config.bucketPrefix } : {}),
  });
}
