import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { assertValidBlobKey, assertValidByteRange, BlobNotFoundError, BlobStoreError } from '../errors.js';
import type { BlobBody, BlobInfo, BlobStore, ByteRange } from '../types.js';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Put in front of every key, e.g. `raw/`; a missing trailing `/` is added. Default none. */
  prefix?: string;
  /** Sent with every put (PutObject or CreateMultipartUpload). Default 'AES256' (SSE-S3). */
  serverSideEncryption?: 'AES256' | 'aws:kms';
  /** The KMS key for 'aws:kms'; without it S3 uses the account's aws/s3 key. */
  kmsKeyId?: string;
}

/**
 * Parts one put uploads at a time. lib-storage holds each part (5 MiB) in memory while it
 * is sent, so this bounds the memory of a put of any length at about 2 parts plus the one
 * being filled, while a large body still uploads in parallel.
 */
const UPLOAD_QUEUE_SIZE = 2;

/**
 * Blobs as S3 objects: `s3://<bucket>/<prefix><key>`.
 *
 * A put goes through lib-storage's Upload: a body that fits in one part (5 MiB) is one
 * PutObject, a longer one a multipart upload, and a body of unknown length is never held
 * in memory whole. Either way S3 makes the object visible only when the last request
 * succeeds (PutObject, or CompleteMultipartUpload), so a body that fails midway leaves
 * whatever was at the key before, and Upload aborts the multipart upload so no parts are
 * left behind to be billed. Parts are buffers, so the SDK's default CRC32 checksums apply
 * to every request even when the body is a stream.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #encryption: { ServerSideEncryption: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string };

  constructor(options: S3BlobStoreOptions) {
    const serverSideEncryption = options.serverSideEncryption ?? 'AES256';
    if (options.kmsKeyId !== undefined && serverSideEncryption !== 'aws:kms') {
      throw new BlobStoreError(`kmsKeyId needs serverSideEncryption 'aws:kms'`);
    }
    this.#client = options.client;
    this.#bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.#prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#encryption = {
      ServerSideEncryption: serverSideEncryption,
      ...(options.kmsKeyId === undefined ? {} : { SSEKMSKeyId: options.kmsKeyId }),
    };
  }

  async put(key: string, body: BlobBody): Promise<BlobInfo> {
    const objectKey = this.#objectKey(key);
    const counted = countBytes(body);
    try {
      const upload = new Upload({
        client: this.#client,
        queueSize: UPLOAD_QUEUE_SIZE,
        leavePartsOnError: false,
        params: { Bucket: this.#bucket, Key: objectKey, Body: counted.body, ...this.#encryption },
      });
      await upload.done();
      return { key, size: counted.bytes() };
    } catch (error) {
      throw wrap(error, `put ${key} failed`);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const objectKey = this.#objectKey(key);
    if (range) assertValidByteRange(range);
    const start = range?.start ?? 0;
    const end = range?.end;
    if (end !== undefined && start >= end) {
      // Nothing to read, but a missing blob must still be an error.
      if (!(await this.head(key))) throw new BlobNotFoundError(key);
      return emptyStream();
    }
    // The port's end is exclusive, HTTP's last byte inclusive (RFC 9110 §14.1.2).
    const header =
      start === 0 && end === undefined ? undefined : `bytes=${start}-${end === undefined ? '' : end - 1}`;
    try {
      const output = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey, Range: header }),
      );
      return toReadable(output.Body);
    } catch (error) {
      // 416: the object exists but the range starts at or past its end (an empty object
      // answers 416 to any range). It reads as nothing, as the fs adapter's does.
      if (errorName(error) === 'InvalidRange' || httpStatus(error) === 416) return emptyStream();
      throw wrap(error, `get ${key} failed`, key);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const objectKey = this.#objectKey(key);
    try {
      const output = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
      return Buffer.concat(await toReadable(output.Body).toArray());
    } catch (error) {
      throw wrap(error, `get ${key} failed`, key);
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    const objectKey = this.#objectKey(key);
    try {
      const output = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
      return { key, size: output.ContentLength ?? 0 };
    } catch (error) {
      // A HEAD answer has no body, so a missing bucket is a bare 404 as well: it cannot be
      // told apart here, and a get on the same key says NoSuchBucket.
      if (isNotFound(error)) return undefined;
      throw wrap(error, `head ${key} failed`);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.#objectKey(key);
    try {
      // S3 answers 204 whether or not the key existed.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
    } catch (error) {
      throw wrap(error, `delete ${key} failed`);
    }
  }

  #objectKey(key: string): string {
    assertValidBlobKey(key);
    return this.#prefix + key;
  }
}

/**
 * The body as Upload takes it, and a count of the bytes that went through: S3's answer to
 * a put does not carry the size, and asking with a HEAD would cost a request per put.
 */
function countBytes(body: BlobBody): { body: Uint8Array | Readable; bytes: () => number } {
  if (body instanceof Uint8Array) return { body, bytes: () => body.byteLength };
  let bytes = 0;
  async function* counting(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      // A Readable with an encoding set yields strings; store what they encode.
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += data.byteLength;
      yield data;
    }
  }
  return { body: Readable.from(counting(body), { objectMode: false }), bytes: () => bytes };
}

/** In Node the SDK's body is an http.IncomingMessage, which is a Readable. */
function toReadable(body: GetObjectCommandOutput['Body']): Readable {
  if (body === undefined) return emptyStream();
  if (body instanceof Readable) return body;
  throw new BlobStoreError('S3 returned a body that is not a Node stream');
}

function emptyStream(): Readable {
  return Readable.from([], { objectMode: false });
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

/** No such object. NoSuchBucket is a 404 too, but it is a misconfiguration, not a missing blob. */
function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  return httpStatus(error) === 404 && name !== 'NoSuchBucket';
}

/** Our own errors pass through; a missing object becomes BlobNotFoundError when key is given. */
function wrap(error: unknown, message: string, notFoundKey?: string): BlobStoreError {
  if (error instanceof BlobStoreError) return error;
  if (notFoundKey !== undefined && isNotFound(error)) return new BlobNotFoundError(notFoundKey);
  return new BlobStoreError(message, { cause: error });
}
