import { BatchGetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JobQueueError } from '../errors.js';
import type { FailureLog, FailureRecord } from '../types.js';

/** How long a reason is kept: SQS keeps a dead letter at most 14 days. */
const RETENTION_SECONDS = 14 * 24 * 3600;
/** BatchGetItem reads at most 100 keys per call. */
const BATCH = 100;

/**
 * The FailureLog the aws backend shares between the Lambda that records a failure and the
 * CLI that lists dead letters: one item per message id in the store's table
 * (pk `FAIL#<id>`, sk `FAIL`), removed by the table's TTL after 14 days. One PutItem per
 * failure (1 WCU), one BatchGetItem per 100 dead letters listed.
 */
export class DynamoDbFailureLog implements FailureLog {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(messageId: string, reason: string): Promise<void> {
    const at = this.now();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: `FAIL#${messageId}` },
            sk: { S: 'FAIL' },
            reason: { S: reason.slice(0, 4000) },
            at: { N: String(at) },
            expiresAt: { N: String(Math.floor(at / 1000) + RETENTION_SECONDS) },
          },
        }),
      );
    } catch (err) {
      throw new JobQueueError('could not record the failure reason', { cause: err });
    }
  }

  async get(messageIds: readonly string[]): Promise<Map<string, FailureRecord>> {
    const found = new Map<string, FailureRecord>();
    const unique = [...new Set(messageIds)];
    for (let i = 0; i < unique.length; i += BATCH) {
      let keys = unique.slice(i, i + BATCH).map((id) => ({ pk: { S: `FAIL#${id}` }, sk: { S: 'FAIL' } }));
      // Unprocessed keys (throttling) are asked for again.
      for (let attempt = 0; keys.length > 0 && attempt < 5; attempt++) {
        let response;
        try {
          response = await this.client.send(
            new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }),
          );
        } catch (err) {
          throw new JobQueueError('could not read failure reasons', { cause: err });
        }
        for (const item of response.Responses?.[this.tableName] ?? []) {
          const id = item.pk!.S!.slice('FAIL#'.length);
          found.set(id, { reason: item.reason?.S ?? '', at: Number(item.at?.N ?? 0) });
        }
        keys = (response.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
      }
    }
    return found;
  }
}
