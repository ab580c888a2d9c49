export { ingestJob, parseJob, PermanentIngestError, type IngestDeps, type IngestResult } from './service.js';
export type { IngestJob } from './types.js';
