export * from './types.js';
export * from './errors.js';
export { FsBlobStore } from './fs/fs-blob-store.js';
