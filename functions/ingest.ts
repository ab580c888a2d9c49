import middy from '@middy/core';
import type { SqsBatchResponse, SqsEvent, SqsRecord } from '../lib/queue/sqs-event.js';
import type { JobQueue } from '../lib/queue/types.js';
import type { IngestJob } from '../lib/ingest/types.js';
import { ingestJob, parseJob, type IngestDeps } from '../lib/ingest/service.js';

export interface IngestHandlerDeps extends IngestDeps {
  /** Where a record's failure reason is kept, so a dead letter says why it died. */
  queue: Pick<JobQueue<IngestJob>, 'recordFailure'>;
}

/**
 * The ingest Lambda: one SQS batch in, the ids of the records that failed out
 * (ReportBatchItemFailures), so one bad message never makes its batch-mates run again.
 * Records of a batch run one after another: they often share a mailbox, and UIDs are
 * assigned in order anyway.
 */
export function createIngestHandler(deps: IngestHandlerDeps) {
  async function processRecord(record: SqsRecord) {
    const job = parseJob(record.body);
    await ingestJob(deps, job);
  }

  return middy<SqsEvent, SqsBatchResponse>().handler(async (event) => {
    const batchItemFailures: SqsBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        await processRecord(record);
      } catch (err) {
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        deps.logger.error(
          { err, messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount },
          'ingest failed',
        );
        await deps.queue.recordFailure(record.messageId, reason).catch((recordErr: unknown) => {
          deps.logger.error({ err: recordErr }, 'could not record the failure reason');
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
}
