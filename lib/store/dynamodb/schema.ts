import {
  CreateTableCommand,
  DeleteTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';

/*
 * The one table of the DynamoDB store (docs/dynamodb.md): a string partition key and a
 * string sort key, no secondary index, on-demand billing, TTL on `expiresAt`. The CDK stack
 * builds the same table from these constants, so tests and the cloud agree on it.
 */

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** Epoch seconds after which DynamoDB may delete the item: leases nobody released, tombstones of expunged messages. */
export const TTL_ATTRIBUTE = 'expiresAt';

export const KEY_SCHEMA: readonly KeySchemaElement[] = [
  { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
  { AttributeName: SORT_KEY, KeyType: 'RANGE' },
];

export const ATTRIBUTE_DEFINITIONS: readonly AttributeDefinition[] = [
  { AttributeName: PARTITION_KEY, AttributeType: 'S' },
  { AttributeName: SORT_KEY, AttributeType: 'S' },
];

/** The same keys in the shape aws-cdk-lib's `dynamodb.TableV2` takes (`type` is `AttributeType.STRING`). */
export const TABLE_KEYS = {
  partitionKey: { name: PARTITION_KEY, type: 'S' },
  sortKey: { name: SORT_KEY, type: 'S' },
  timeToLiveAttribute: TTL_ATTRIBUTE,
} as const;

/** Creates the table (on demand, TTL on), waits until it is active. For tests and local setups. */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [...KEY_SCHEMA],
      AttributeDefinitions: [...ATTRIBUTE_DEFINITIONS],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE },
    }),
  );
}

/** Deletes the table and everything in it. */
export async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}
