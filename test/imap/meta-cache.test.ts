import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { MessageMetaCache } from '../../lib/imap/meta-cache.js';
import { SelectedMailbox } from '../../lib/imap/selected.js';
import { makeNewMessage } from '../helpers/messages.js';
import { tempDir } from '../helpers/mailroom.js';

const USER = 'demo@example.test';

describe('MessageMetaCache', () => {
  let dir: string;
  let store: SqliteStore;
  let reads: number;
  let cache: MessageMetaCache;
  beforeEach(async () => {
    dir = await tempDir();
    store = SqliteStore.open(join(dir, 'store.db'));
    await store.addDomain('example.test');
    await store.addAccount(USER, 'hash');
    for (let i = 0; i < 5; i++) await store.appendMessage(USER, 'INBOX', makeNewMessage());
    reads = 0;
    cache = new MessageMetaCache(
      {
        listMessages: (...args) => {
          reads++;
          return store.listMessages(...args);
        },
      },
      3,
    );
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(view: SelectedMailbox, uids: number[]) {
    const out: number[] = [];
    for await (const page of cache.pages(view, uids)) out.push(...page.keys());
    return out;
  }

  it('reads the store once for what it has not seen, in UID order, and evicts the least recently used', async () => {
    const view = await SelectedMailbox.open(store, USER, (await store.getMailbox(USER, 'INBOX'))!, false);

    expect(await load(view, [2, 3, 4])).toEqual([2, 3, 4]);
    expect(reads).toBe(1);
    expect(await load(view, [2, 3, 4])).toEqual([2, 3, 4]);
    expect(reads).toBe(1);

    expect(await load(view, [1, 3])).toEqual([1, 3]);
    expect(reads).toBe(2);
    // Capacity 3: UID 2 was the least recently used and is gone; 3 stays.
    expect(await load(view, [3])).toEqual([3]);
    expect(reads).toBe(2);
    expect(await load(view, [2])).toEqual([2]);
    expect(reads).toBe(3);
  });

  it('leaves out UIDs that no longer exist', async () => {
    const view = await SelectedMailbox.open(store, USER, (await store.getMailbox(USER, 'INBOX'))!, false);
    await store.expunge(USER, 'INBOX', [4]);
    expect(await load(view, [3, 4, 5])).toEqual([3, 5]);
  });
});
