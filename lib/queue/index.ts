export * from './types.js';
export * from './errors.js';
export { SqliteJobQueue } from './sqlite/sqlite-job-queue.js';
export type { SqliteJobQueueOptions } from './sqlite/sqlite-job-queue.js';
