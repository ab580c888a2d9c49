import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { assertValidBlobKey, assertValidByteRange, BlobNotFoundError, BlobStoreError } from '../errors.js';
import type { BlobBody, BlobInfo, BlobStore, ByteRange } from '../types.js';

/**
 * Holds uploads until they are complete. `~` is outside the key alphabet, so no key can
 * ever name this directory or anything in it.
 */
const TMP_DIR = '~tmp';

/** Errors that mean "no blob here": the path, or one of its parents, is missing or a file. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Blobs as plain files: `<root>/<key>`. A put writes a temp file under `<root>/~tmp`,
 * fsyncs it, renames it into place and fsyncs the directory, so a resolved put survives a
 * crash and a reader only ever sees a whole blob, old or new.
 *
 * A key cannot be both a blob and a "directory" of other keys (`a` and `a/b`); S3 allows
 * that, so keys should be chosen so one is never a prefix segment of another.
 */
export class FsBlobStore implements BlobStore {
  readonly #root: string;

  constructor(rootDir: string) {
    this.#root = resolve(rootDir);
  }

  async put(key: string, body: BlobBody): Promise<BlobInfo> {
    const target = this.#pathOf(key);
    const tmpDir = join(this.#root, TMP_DIR);
    const tmp = join(tmpDir, randomUUID());
    let file: FileHandle | undefined;
    try {
      await mkdir(tmpDir, { recursive: true });
      file = await open(tmp, 'wx');
      // writeFile takes buffers, Readables and async iterables alike and writes every
      // byte as given: no encoding, no line-ending translation.
      await writeFile(file, body);
      await file.sync();
      const { size } = await file.stat();
      await file.close();
      file = undefined;
      await this.#mkdirDurable(dirname(target));
      await rename(tmp, target);
      await fsyncDir(dirname(target));
      return { key, size };
    } catch (error) {
      await file?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw wrap(error, `put ${key} failed`);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.#pathOf(key);
    if (range) assertValidByteRange(range);
    let file: FileHandle | undefined;
    try {
      // Reading through one open handle pins the inode: an overwrite or delete that lands
      // while the stream is being read cannot mix two versions or cut the body short.
      file = await open(path, 'r');
      const info = await file.stat();
      if (!info.isFile()) throw new BlobNotFoundError(key);
      const start = range?.start ?? 0;
      const end = Math.min(range?.end ?? info.size, info.size);
      if (start >= end) {
        // An empty or past-the-end range reads as nothing, as an IMAP partial FETCH of a
        // range beyond the body must (RFC 3501 §6.4.5).
        await file.close();
        return Readable.from([], { objectMode: false });
      }
      // createReadStream's end is inclusive; it closes the handle when done or destroyed.
      return file.createReadStream({ start, end: end - 1 });
    } catch (error) {
      await file?.close().catch(() => undefined);
      throw wrap(error, `get ${key} failed`, key);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const path = this.#pathOf(key);
    try {
      return await readFile(path);
    } catch (error) {
      if (isErrno(error) && error.code === 'EISDIR') throw new BlobNotFoundError(key);
      throw wrap(error, `get ${key} failed`, key);
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    const path = this.#pathOf(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (error) {
      if (isErrno(error) && ABSENT.has(error.code ?? '')) return undefined;
      throw wrap(error, `head ${key} failed`);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#pathOf(key);
    try {
      // No directory fsync: a delete lost in a crash leaves a blob behind, never loses one.
      await unlink(path);
    } catch (error) {
      if (isErrno(error) && ABSENT.has(error.code ?? '')) return;
      // The key names a directory of other keys (`a` beside `a/b`): there is no blob `a`.
      if (await isDirectory(path)) return;
      throw wrap(error, `delete ${key} failed`);
    }
  }

  #pathOf(key: string): string {
    assertValidBlobKey(key);
    return join(this.#root, key);
  }

  /**
   * mkdir -p that survives a crash: a new directory's entry lives in its parent, so the
   * parents of every directory it created are fsynced, top down.
   */
  async #mkdirDurable(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    const parents: string[] = [];
    for (let d = dir; d.length >= first.length; d = dirname(d)) parents.unshift(dirname(d));
    for (const parent of parents) await fsyncDir(parent);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

function isErrno(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

/** Our own errors pass through; a missing file becomes BlobNotFoundError when key is given. */
function wrap(error: unknown, message: string, notFoundKey?: string): BlobStoreError {
  if (error instanceof BlobStoreError) return error;
  if (notFoundKey !== undefined && isErrno(error) && ABSENT.has(error.code ?? '')) {
    return new BlobNotFoundError(notFoundKey);
  }
  return new BlobStoreError(message, { cause: error });
}
