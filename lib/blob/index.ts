export * from './types.js';
export * from './errors.js';
export { FsBlobStore } from './fs/fs-blob-store.js';
export { S3BlobStore } from './s3/s3-blob-store.js';
export type { S3BlobStoreOptions } from './s3/s3-blob-store.js';
