import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStoreError, S3BlobStore, type S3BlobStoreOptions } from '../../lib/blob/index.js';
import { runBlobStoreContract } from '../contract/blob-store.contract.js';
import { clientConfig, uniqueName } from '../helpers/aws.js';

const MiB = 1024 * 1024;

function s3Client(): S3Client {
  return new S3Client({ ...clientConfig('fauxqs'), forcePathStyle: true });
}

async function createBucket(client: S3Client): Promise<string> {
  const bucket = uniqueName('blobs');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  for (const key of await listKeys(client, bucket)) {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/** Deterministic bytes, `count` chunks of `size`, so a big body needs no fixture file. */
function* pattern(count: number, size: number): Generator<Buffer> {
  for (let c = 0; c < count; c++) {
    const chunk = Buffer.alloc(size);
    for (let i = 0; i < size; i++) chunk[i] = (c * 31 + i * 7) & 0xff;
    yield chunk;
  }
}

function sha256(chunks: Iterable<Buffer>): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

interface SentRequest {
  command: string;
  headers: Record<string, string>;
}

/** Records every request the client sends, with the HTTP headers as they go on the wire. */
function recordRequests(client: S3Client): SentRequest[] {
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      sent.push({ command: context.commandName ?? '?', headers: { ...request.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return sent;
}

runBlobStoreContract('S3BlobStore on fauxqs', async () => {
  const client = s3Client();
  const bucket = await createBucket(client);
  return {
    store: new S3BlobStore({ client, bucket }),
    cleanup: async () => {
      await removeBucket(client, bucket);
      client.destroy();
    },
  };
});

describe('S3BlobStore', () => {
  let client: S3Client;
  let bucket: string;

  function openStore(options: Partial<S3BlobStoreOptions> = {}): S3BlobStore {
    return new S3BlobStore({ client, bucket, ...options });
  }

  beforeEach(async () => {
    client = s3Client();
    bucket = await createBucket(client);
  });

  afterEach(async () => {
    await removeBucket(client, bucket);
    client.destroy();
  });

  it('sends SSE-S3 (AES256) on every put by default', async () => {
    // Prepare
    const sent = recordRequests(client);
    const store = openStore();

    // Act
    await store.put('small.eml', Buffer.from('Subject: hi\r\n\r\nbody\r\n'));
    await store.put('streamed.eml', Readable.from(pattern(2, 1024)));

    // Assess
    const puts = sent.filter((r) => r.command === 'PutObjectCommand');
    expect(puts).toHaveLength(2);
    for (const put of puts) expect(put.headers['x-amz-server-side-encryption']).toBe('AES256');
  });

  it('sends SSE-KMS with its key id when the upload is multipart', async () => {
    // Prepare
    const sent = recordRequests(client);
    const store = openStore({ serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/mailroom' });

    // Act
    await store.put('big.eml', Readable.from(pattern(6, MiB)));

    // Assess
    const create = sent.find((r) => r.command === 'CreateMultipartUploadCommand');
    expect(create?.headers).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/mailroom',
    });
    expect(sent.some((r) => r.command === 'PutObjectCommand')).toBe(false);
  });

  it('refuses a KMS key id without aws:kms', () => {
    // Act
    const opening = () => openStore({ serverSideEncryption: 'AES256', kmsKeyId: 'alias/mailroom' });

    // Assess
    expect(opening).toThrow(BlobStoreError);
  });

  it('stores a 12 MB stream of unknown length byte-exact through a checksummed multipart upload', async () => {
    // Prepare
    const sent = recordRequests(client);
    const store = openStore();
    const count = 12;
    const expected = sha256(pattern(count, MiB));

    // Act
    const info = await store.put('raw/large.eml', Readable.from(pattern(count, MiB)));
    const stored = await store.getBuffer('raw/large.eml');
    const tail = Buffer.concat(
      await (await store.get('raw/large.eml', { start: 12 * MiB - 10, end: 12 * MiB + 5 })).toArray(),
    );

    // Assess
    expect(info).toEqual({ key: 'raw/large.eml', size: count * MiB });
    expect(stored.length).toBe(count * MiB);
    expect(sha256([stored])).toBe(expected);
    expect(tail.equals(stored.subarray(12 * MiB - 10))).toBe(true);
    const parts = sent.filter((r) => r.command === 'UploadPartCommand');
    expect(parts).toHaveLength(3);
    for (const part of parts) expect(part.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(sent.filter((r) => r.command === 'CompleteMultipartUploadCommand')).toHaveLength(1);
  });

  it('aborts the multipart upload of a body that fails after its first part, keeping the old object', async () => {
    // Prepare
    const sent = recordRequests(client);
    const store = openStore();
    await store.put('raw/kept.eml', Buffer.from('the first version'));
    const failing = Readable.from(
      (async function* () {
        yield* pattern(7, MiB);
        throw new Error('client went away');
      })(),
    );

    // Act
    const error = await store.put('raw/kept.eml', failing).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BlobStoreError);
    expect((error as Error).cause).toMatchObject({ message: 'client went away' });
    expect(sent.map((r) => r.command)).toContain('UploadPartCommand');
    expect(sent.map((r) => r.command)).toContain('AbortMultipartUploadCommand');
    expect(sent.map((r) => r.command)).not.toContain('CompleteMultipartUploadCommand');
    expect((await store.getBuffer('raw/kept.eml')).toString()).toBe('the first version');
  });

  it('keeps its objects under the prefix, apart from another prefix', async () => {
    // Prepare
    const tenantA = openStore({ prefix: 'tenant-a' });
    const tenantB = openStore({ prefix: 'tenant-b/' });

    // Act
    await tenantA.put('raw/1.eml', Buffer.from('A'));
    await tenantB.put('raw/1.eml', Buffer.from('B'));

    // Assess
    expect((await listKeys(client, bucket)).sort()).toEqual(['tenant-a/raw/1.eml', 'tenant-b/raw/1.eml']);
    expect((await tenantA.getBuffer('raw/1.eml')).toString()).toBe('A');
    expect(await openStore().head('raw/1.eml')).toBeUndefined();
    await tenantA.delete('raw/1.eml');
    expect(await listKeys(client, bucket)).toEqual(['tenant-b/raw/1.eml']);
  });

  it('reports a missing bucket as a BlobStoreError, not as a missing blob', async () => {
    // Prepare
    const store = new S3BlobStore({ client, bucket: uniqueName('no-such-bucket') });

    // Act
    const error = await store.getBuffer('raw/1.eml').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BlobStoreError);
    expect(error).toMatchObject({ code: 'BLOB_STORE_ERROR' });
    expect((error as Error).cause).toMatchObject({ name: 'NoSuchBucket' });
  });
});
