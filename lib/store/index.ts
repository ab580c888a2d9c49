export * from './types.js';
export * from './errors.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
