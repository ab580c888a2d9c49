export * from './types.js';
export * from './errors.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { DynamoDbStore, type DynamoDbStoreOptions } from './dynamodb/dynamodb-store.js';
export {
  ATTRIBUTE_DEFINITIONS,
  KEY_SCHEMA,
  PARTITION_KEY,
  SORT_KEY,
  TABLE_KEYS,
  TTL_ATTRIBUTE,
  createTable,
  deleteTable,
} from './dynamodb/schema.js';
