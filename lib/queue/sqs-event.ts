/**
 * The parts of Lambda's SQS event and partial-batch response that Mailroom uses. The local
 * runner builds exactly these shapes, so functions/ runs unchanged in both worlds.
 */
export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: {
    ApproximateReceiveCount: string;
    SentTimestamp: string;
    [name: string]: string;
  };
  messageAttributes: Record<string, unknown>;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
  md5OfBody?: string;
}

export interface SqsEvent {
  Records: SqsRecord[];
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}
