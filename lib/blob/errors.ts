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
