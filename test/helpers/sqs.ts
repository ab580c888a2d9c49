import type { IngestJob } from '../../lib/ingest/types.js';
import type { SqsEvent } from '../../lib/queue/sqs-event.js';

/** The SQS event Lambda would hand the ingest function for these jobs, one record each. */
export function sqsEvent(
  jobs: IngestJob[],
  messageId: (job: IngestJob) => string = (job) => job.id,
): SqsEvent {
  return {
    Records: jobs.map((job) => ({
      messageId: messageId(job),
      receiptHandle: 'r',
      body: JSON.stringify(job),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
      messageAttributes: {},
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mailroom-ingest',
      awsRegion: 'us-east-1',
    })),
  };
}

/** An ingest job for a message to `rcptTo`, its blob under raw/test/. */
export function ingestJob(id: string, rcptTo: string[]): IngestJob {
  return {
    id,
    blobKey: `raw/test/${id}.eml`,
    mailFrom: 'sender@sender.test',
    rcptTo,
    clientAddress: '127.0.0.1',
    helo: 'client.test',
    tls: false,
    receivedAt: new Date().toISOString(),
  };
}
