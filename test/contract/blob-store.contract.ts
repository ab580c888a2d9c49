/**
 * The BlobStore contract: what every adapter (filesystem, S3) must do the same way.
 * Each test gets a fresh, empty store from `make` and calls `cleanup` after itself.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../lib/blob/types.js';

export interface BlobStoreFixture {
  store: BlobStore;
  cleanup: () => Promise<void>;
}

/** Every byte value, then the line-ending shapes a mail transport is tempted to "fix". */
const TRICKY_BYTES = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from('line\r\nlone CR\rlone LF\n\0NUL\r\n.\r\n', 'latin1'),
]);

/** Deterministic pseudo-random chunks, so a multi-MB body needs no fixture file. */
function* chunks(count: number, size: number): Generator<Buffer> {
  let seed = 0x2545f491;
  for (let c = 0; c < count; c++) {
    const chunk = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      chunk.writeUInt32LE(seed, i);
    }
    yield chunk;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  return Buffer.concat(await stream.toArray());
}

function sha256(data: Iterable<Buffer> | Buffer): string {
  const hash = createHash('sha256');
  for (const chunk of Buffer.isBuffer(data) ? [data] : data) hash.update(chunk);
  return hash.digest('hex');
}

/** A body that yields some bytes and then fails, as a dropped SMTP connection would. */
function failingBody(): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.alloc(64 * 1024, 0x61);
      throw new Error('connection reset mid-body');
    })(),
  );
}

const INVALID_KEYS = [
  '',
  '/leading-slash',
  'trailing-slash/',
  'a//b',
  '..',
  'a/../b',
  '../escape',
  './a',
  'space in key',
  'back\\slash',
  'ümlaut',
  'colon:key',
  'x'.repeat(513),
];

export function runBlobStoreContract(name: string, make: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('put and read back', () => {
      it('keeps every byte value, CRLF, lone CR and NUL exactly', async () => {
        // Prepare
        const key = 'raw/2024/01/binary.eml';

        // Act
        const info = await store.put(key, TRICKY_BYTES);
        const whole = await store.getBuffer(key);
        const streamed = await readAll(await store.get(key));

        // Assess
        expect(info).toEqual({ key, size: TRICKY_BYTES.length });
        expect(whole.equals(TRICKY_BYTES)).toBe(true);
        expect(streamed.equals(TRICKY_BYTES)).toBe(true);
      });

      it('stores an empty body', async () => {
        // Act
        const info = await store.put('empty', Buffer.alloc(0));

        // Assess
        expect(info.size).toBe(0);
        expect((await store.getBuffer('empty')).length).toBe(0);
        expect(await store.head('empty')).toEqual({ key: 'empty', size: 0 });
      });

      it('takes a plain Uint8Array and an async iterable as well as a Buffer', async () => {
        // Prepare
        const bytes = new Uint8Array(TRICKY_BYTES);
        async function* iterable() {
          yield TRICKY_BYTES.subarray(0, 100);
          yield TRICKY_BYTES.subarray(100);
        }

        // Act
        await store.put('u8', bytes);
        await store.put('iter', iterable());

        // Assess
        expect((await store.getBuffer('u8')).equals(TRICKY_BYTES)).toBe(true);
        expect((await store.getBuffer('iter')).equals(TRICKY_BYTES)).toBe(true);
      });

      it('streams a multi-megabyte body in from a Readable and back out', async () => {
        // Prepare
        const count = 96;
        const size = 64 * 1024;
        const expectedHash = sha256(chunks(count, size));

        // Act
        const info = await store.put('big.eml', Readable.from(chunks(count, size)));
        const stream = await store.get('big.eml');
        const hash = createHash('sha256');
        let streamedBytes = 0;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          hash.update(chunk);
          streamedBytes += chunk.length;
        }

        // Assess
        expect(info.size).toBe(count * size);
        expect(streamedBytes).toBe(count * size);
        expect(hash.digest('hex')).toBe(expectedHash);
      });

      it('keeps keys apart, including ones that share a prefix', async () => {
        // Act
        await store.put('raw/a.eml', Buffer.from('A'));
        await store.put('raw/a.eml.bak', Buffer.from('B'));
        await store.put('other/a.eml', Buffer.from('C'));

        // Assess
        expect((await store.getBuffer('raw/a.eml')).toString()).toBe('A');
        expect((await store.getBuffer('raw/a.eml.bak')).toString()).toBe('B');
        expect((await store.getBuffer('other/a.eml')).toString()).toBe('C');
      });

      it('accepts a key of 512 characters', async () => {
        // Prepare
        const key = `${'a'.repeat(100)}/`.repeat(5) + 'b'.repeat(7);

        // Act
        await store.put(key, Buffer.from('long'));

        // Assess
        expect(key.length).toBe(512);
        expect((await store.getBuffer(key)).toString()).toBe('long');
      });
    });

    describe('ranges', () => {
      const body = Buffer.from('0123456789');

      it.each([
        { range: { start: 2, end: 5 }, expected: '234' },
        { range: { start: 0, end: 1 }, expected: '0' },
        { range: { start: 7 }, expected: '789' },
        { range: { start: 0 }, expected: '0123456789' },
        { range: { start: 8, end: 100 }, expected: '89' },
        { range: { start: 4, end: 4 }, expected: '' },
        { range: { start: 10 }, expected: '' },
        { range: { start: 50, end: 60 }, expected: '' },
      ])('get $range reads "$expected"', async ({ range, expected }) => {
        // Prepare
        await store.put('range.txt', body);

        // Act
        const read = await readAll(await store.get('range.txt', range));

        // Assess
        expect(read.toString('latin1')).toBe(expected);
      });

      it.each([{ start: -1 }, { start: 5, end: 4 }, { start: 1.5 }, { start: Number.NaN }])(
        'rejects the malformed range %j',
        async (range) => {
          // Prepare
          await store.put('range.txt', body);

          // Act
          const reading = store.get('range.txt', range);

          // Assess
          await expect(reading).rejects.toMatchObject({ code: 'INVALID_BLOB_RANGE' });
        },
      );
    });

    describe('head', () => {
      it('gives the size of a blob', async () => {
        // Prepare
        await store.put('sized', TRICKY_BYTES);

        // Act
        const info = await store.head('sized');

        // Assess
        expect(info).toEqual({ key: 'sized', size: TRICKY_BYTES.length });
      });

      it('gives undefined for a missing blob', async () => {
        // Act
        const info = await store.head('missing/blob.eml');

        // Assess
        expect(info).toBeUndefined();
      });
    });

    describe('missing blobs', () => {
      it('get rejects with BlobNotFoundError', async () => {
        // Act
        const reading = store.get('missing/blob.eml');

        // Assess
        await expect(reading).rejects.toMatchObject({
          name: 'BlobNotFoundError',
          code: 'BLOB_NOT_FOUND',
          key: 'missing/blob.eml',
        });
      });

      it('getBuffer rejects with BlobNotFoundError', async () => {
        // Act
        const reading = store.getBuffer('missing/blob.eml');

        // Assess
        await expect(reading).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
      });

      it('a ranged get rejects with BlobNotFoundError', async () => {
        // Act
        const reading = store.get('missing/blob.eml', { start: 0, end: 1 });

        // Assess
        await expect(reading).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
      });
    });

    describe('overwrite', () => {
      it('replaces the whole body, longer or shorter', async () => {
        // Prepare
        await store.put('k', Buffer.from('a long first version'));

        // Act
        await store.put('k', Buffer.from('short'));

        // Assess
        expect((await store.getBuffer('k')).toString()).toBe('short');
        expect(await store.head('k')).toEqual({ key: 'k', size: 5 });
      });

      it('a put whose body fails leaves no blob at a new key', async () => {
        // Act
        const putting = store.put('failed/new.eml', failingBody());

        // Assess
        await expect(putting).rejects.toThrow();
        expect(await store.head('failed/new.eml')).toBeUndefined();
      });

      it('a put whose body fails leaves the previous blob intact', async () => {
        // Prepare
        await store.put('failed/old.eml', TRICKY_BYTES);

        // Act
        const putting = store.put('failed/old.eml', failingBody());

        // Assess
        await expect(putting).rejects.toThrow();
        expect((await store.getBuffer('failed/old.eml')).equals(TRICKY_BYTES)).toBe(true);
      });
    });

    describe('delete', () => {
      it('removes the blob', async () => {
        // Prepare
        await store.put('gone', Buffer.from('x'));
        await store.put('kept', Buffer.from('y'));

        // Act
        await store.delete('gone');

        // Assess
        expect(await store.head('gone')).toBeUndefined();
        await expect(store.getBuffer('gone')).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
        expect((await store.getBuffer('kept')).toString()).toBe('y');
      });

      it('is idempotent and accepts a key that never existed', async () => {
        // Prepare
        await store.put('twice', Buffer.from('x'));
        await store.delete('twice');

        // Act
        const again = store.delete('twice');
        const never = store.delete('never/existed');

        // Assess
        await expect(again).resolves.toBeUndefined();
        await expect(never).resolves.toBeUndefined();
      });
    });

    describe('invalid keys', () => {
      it.each(INVALID_KEYS.map((key) => [key.length > 40 ? `${key.slice(0, 10)}…` : key, key]))(
        'refuses %j on every operation',
        async (_label, key) => {
          // Act
          const outcomes = await Promise.allSettled([
            store.put(key, Buffer.from('x')),
            store.get(key),
            store.getBuffer(key),
            store.head(key),
            store.delete(key),
          ]);

          // Assess
          for (const outcome of outcomes) {
            expect(outcome.status).toBe('rejected');
            expect((outcome as PromiseRejectedResult).reason).toMatchObject({
              name: 'InvalidBlobKeyError',
              code: 'INVALID_BLOB_KEY',
            });
          }
        },
      );
    });
  });
}
