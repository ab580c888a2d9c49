export class BlobStoreError extends Error {
  readonly code: string = 'BLOB_STORE_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobStoreError';
  }
}

export class BlobNotFoundError extends BlobStoreError {
  override readonly code = 'BLOB_NOT_FOUND';
  constructor(readonly key: string) {
    super(`no blob with key ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

export class InvalidBlobKeyError extends BlobStoreError {
  override readonly code = 'INVALID_BLOB_KEY';
  constructor(readonly key: string) {
    super(`invalid blob key ${JSON.stringify(key)}`);
    this.name = 'InvalidBlobKeyError';
  }
}

export class InvalidBlobRangeError extends BlobStoreError {
  override readonly code = 'INVALID_BLOB_RANGE';
  constructor(readonly range: { start: number; end?: number }) {
    super(`invalid byte range ${JSON.stringify(range)}`);
    this.name = 'InvalidBlobRangeError';
  }
}

const MAX_KEY_LENGTH = 512;
// Most filesystems cap one path component at 255 bytes (NAME_MAX); holding every adapter to
// it keeps a key that S3 would take from failing only on the embedded default.
const MAX_SEGMENT_LENGTH = 255;
const KEY_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/**
 * The key rule every adapter shares. Empty, `.` and `..` segments are refused as well as a
 * leading slash: on a filesystem they would alias another key or escape the root.
 */
export function assertValidBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidBlobKeyError(key);
  }
  for (const segment of key.split('/')) {
    if (
      segment === '.' ||
      segment === '..' ||
      segment.length > MAX_SEGMENT_LENGTH ||
      !KEY_SEGMENT.test(segment)
    ) {
      throw new InvalidBlobKeyError(key);
    }
  }
}

/** Rejects ranges that no adapter could serve; a range past the end is fine (it is clamped). */
export function assertValidByteRange(range: { start: number; end?: number }): void {
  const { start, end } = range;
  const startOk = Number.isSafeInteger(start) && start >= 0;
  const endOk = end === undefined || (Number.isSafeInteger(end) && end >= start);
  if (!startOk || !endOk) throw new InvalidBlobRangeError(range);
}
