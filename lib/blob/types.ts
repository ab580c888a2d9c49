import type { Readable } from 'node:stream';

/** What can be stored: a whole buffer, or a stream read to its end. */
export type BlobBody = Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface BlobInfo {
  key: string;
  size: number;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. Omitted: to the end. */
  end?: number;
}

/**
 * Raw message bodies, byte for byte. Keys are opaque strings made of [A-Za-z0-9/_.-];
 * a put is durable when its promise resolves (the ingress answers 250 only after that).
 */
export interface BlobStore {
  /** Stores the body under key, replacing nothing: a second put of the same key overwrites atomically. */
  put(key: string, body: BlobBody): Promise<BlobInfo>;
  /** Streams the body, or a byte range of it. Rejects with BlobNotFoundError. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The whole body in memory (small messages, tests). Rejects with BlobNotFoundError. */
  getBuffer(key: string): Promise<Buffer>;
  /** Size in bytes, or undefined when there is no such blob. */
  head(key: string): Promise<BlobInfo | undefined>;
  /** Removes the blob; removing a missing blob is not an error. */
  delete(key: string): Promise<void>;
}
