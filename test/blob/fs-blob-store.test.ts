import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStoreError, FsBlobStore } from '../../lib/blob/index.js';
import { runBlobStoreContract } from '../contract/blob-store.contract.js';

async function makeRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mailroom-fs-blob-'));
}

runBlobStoreContract('FsBlobStore', async () => {
  const root = await makeRoot();
  return { store: new FsBlobStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;

  beforeEach(async () => {
    root = await makeRoot();
    store = new FsBlobStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('leaves no temp file and no blob behind when the body stream errors midway', async () => {
    // Prepare
    await store.put('warm-up', Buffer.from('creates the temp directory'));
    const body = Readable.from(
      (async function* () {
        yield Buffer.alloc(256 * 1024, 0x62);
        yield Buffer.alloc(256 * 1024, 0x63);
        throw new Error('client went away');
      })(),
    );

    // Act
    const putting = store.put('raw/half.eml', body);

    // Assess
    const error = await putting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobStoreError);
    expect((error as Error).cause).toMatchObject({ message: 'client went away' });
    expect(await readdir(join(root, '~tmp'))).toEqual([]);
    const files = await readdir(root, { recursive: true });
    expect(files.filter((f) => f.endsWith('.eml'))).toEqual([]);
  });

  it('keeps each blob as a plain file at <root>/<key>, byte for byte', async () => {
    // Prepare
    const bytes = Buffer.from('Subject: hi\r\n\r\nbody\r\n');

    // Act
    await store.put('raw/2024/01/id.eml', bytes);

    // Assess
    expect((await readFile(join(root, 'raw/2024/01/id.eml'))).equals(bytes)).toBe(true);
    expect(await readdir(join(root, '~tmp'))).toEqual([]);
  });

  it('finishes a read started before an overwrite with the old body', async () => {
    // Prepare
    const first = Buffer.alloc(1024 * 1024, 0x31);
    await store.put('k', first);
    const stream = await store.get('k');

    // Act
    await store.put('k', Buffer.from('second'));
    const read = Buffer.concat(await stream.toArray());

    // Assess
    expect(read.equals(first)).toBe(true);
    expect((await store.getBuffer('k')).toString()).toBe('second');
  });

  it('treats a key that is only a directory of other keys as missing', async () => {
    // Prepare
    await store.put('dir/child', Buffer.from('x'));

    // Act
    const head = await store.head('dir');
    const deleting = store.delete('dir');

    // Assess
    expect(head).toBeUndefined();
    await expect(deleting).resolves.toBeUndefined();
    await expect(store.get('dir')).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
    await expect(store.getBuffer('dir')).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
    expect((await store.getBuffer('dir/child')).toString()).toBe('x');
  });
});
