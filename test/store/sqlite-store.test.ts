import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore, StoreError } from '../../lib/store/index.js';
import { runStoreContract } from '../contract/store.contract.js';
import { makeNewMessage } from '../helpers/messages.js';

const WORKER = fileURLToPath(new URL('./append-worker.ts', import.meta.url));
const ALICE = 'alice@example.test';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'mailroom-store-'));
}

/** A separate process appending to alice's INBOX in the store at path (see append-worker.ts). */
function startWorker(path: string, count: number, tag: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, path, String(count), tag], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  let signalReady: () => void;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
    if (output.startsWith('ready\n')) signalReady();
  });
  const uids = new Promise<number[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker ${tag} exited with ${code}`));
      resolve(JSON.parse(output.slice('ready\n'.length)) as number[]);
    });
  });
  return { ready, uids, go: () => child.stdin.end('go\n') };
}

runStoreContract('SqliteStore', async () => {
  const dir = tempDir();
  return {
    store: SqliteStore.open(join(dir, 'store.db')),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStore on a file', () => {
  let dir: string;
  let path: string;
  const opened: SqliteStore[] = [];

  function open(options?: Parameters<typeof SqliteStore.open>[1]): SqliteStore {
    const store = SqliteStore.open(path, options);
    opened.push(store);
    return store;
  }

  beforeEach(async () => {
    dir = tempDir();
    path = join(dir, 'store.db');
    const store = open();
    await store.addDomain('example.test');
    await store.addAccount(ALICE, 'hash');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the schema with WAL and a user_version', () => {
    // Assess (the raw file, as another tool would see it)
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
    } finally {
      db.close();
    }
  });

  it('keeps everything across close and reopen', async () => {
    // Prepare
    const first = open();
    await first.createMailbox(ALICE, 'Projects');
    const appended = await first.appendMessage(ALICE, 'Projects', makeNewMessage({ flags: ['\\Seen'] }), {
      idempotencyKey: 'job-1',
    });
    const before = await first.getMailbox(ALICE, 'Projects');
    for (const store of opened.splice(0)) await store.close();

    // Act
    const reopened = open();

    // Assess
    expect(await reopened.getAccount(ALICE)).toBeDefined();
    expect(await reopened.getPasswordHash(ALICE)).toBe('hash');
    expect(await reopened.getMailbox(ALICE, 'Projects')).toEqual(before);
    expect((await reopened.getMessage(ALICE, 'Projects', appended.uid))?.flags).toEqual(['\\Seen']);
    const again = await reopened.appendMessage(ALICE, 'Projects', makeNewMessage(), {
      idempotencyKey: 'job-1',
    });
    expect(again).toEqual({ ...appended, duplicate: true });
    expect((await reopened.appendMessage(ALICE, 'Projects', makeNewMessage())).uid).toBe(appended.uid + 1);
  });

  it('gives distinct, increasing UIDs to two instances appending to one mailbox in turn', async () => {
    // Prepare
    const a = open();
    const b = open();

    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).appendMessage(ALICE, 'INBOX', makeNewMessage()),
      ),
    );

    // Assess
    const uids = results.map((r) => r.uid);
    expect(uids).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const modseqs = results.map((r) => r.modseq);
    expect([...modseqs].sort((x, y) => x - y)).toEqual(modseqs);
    expect(await a.getMailbox(ALICE, 'INBOX')).toMatchObject({ messages: 20, uidNext: 21 });
    expect(await b.getMailbox(ALICE, 'INBOX')).toMatchObject({ messages: 20, uidNext: 21 });
    // What one instance writes, the other's change feed shows.
    await a.updateFlags(ALICE, 'INBOX', [3], 'add', ['\\Seen']);
    expect((await b.changesSince(ALICE, 'INBOX', modseqs.at(-1)!)).map((c) => [c.kind, c.uid])).toEqual([
      ['flags', 3],
    ]);
  });

  it('gives distinct UIDs to separate processes appending at the same time', async () => {
    // Prepare: the workers open the file, then all start appending on one signal.
    const perProcess = 60;
    const workers = ['p1', 'p2', 'p3'].map((tag) => startWorker(path, perProcess, tag));
    await Promise.all(workers.map((worker) => worker.ready));

    // Act
    for (const worker of workers) worker.go();
    const lists = await Promise.all(workers.map((worker) => worker.uids));

    // Assess
    for (const uids of lists) expect([...uids].sort((x, y) => x - y)).toEqual(uids);
    const all = lists.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: workers.length * perProcess }, (_, i) => i + 1));
    const store = open();
    expect(await store.getMailbox(ALICE, 'INBOX')).toMatchObject({
      messages: all.length,
      unseen: all.length,
      uidNext: all.length + 1,
    });
    expect((await store.changesSince(ALICE, 'INBOX', 0)).map((c) => c.uid).sort((x, y) => x - y)).toEqual(
      all,
    );
  });

  it('takes createdAt and UIDVALIDITY from the clock it is given', async () => {
    // Prepare
    let now = Date.UTC(2030, 0, 1);
    const store = open({ now: () => now });

    // Act
    const first = await store.createMailbox(ALICE, 'Clocked');
    await store.deleteMailbox(ALICE, 'Clocked');
    const second = await store.createMailbox(ALICE, 'Clocked');
    now += 3_600_000;
    const third = await store.createMailbox(ALICE, 'Later');

    // Assess
    expect(first.createdAt).toBe(Date.UTC(2030, 0, 1));
    expect(first.uidValidity).toBe(Date.UTC(2030, 0, 1) / 1000);
    expect(second.uidValidity).toBe(first.uidValidity + 1);
    expect(third.uidValidity).toBe(now / 1000);
  });

  it('forgets idempotency keys older than 15 days, pruning at most once an hour', async () => {
    // Prepare
    const DAY_MS = 24 * 60 * 60 * 1000;
    const start = Date.UTC(2030, 0, 1);
    let now = start;
    const store = open({ now: () => now });
    const keyed = (key: string) =>
      store.appendMessage(ALICE, 'INBOX', makeNewMessage(), { idempotencyKey: key });
    const keys = () => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare('SELECT key FROM idempotency ORDER BY created_at').all() as { key: string }[]).map(
          (row) => row.key.split('\n')[1],
        );
      } finally {
        db.close();
      }
    };
    const a = await keyed('a');
    now = start + 30 * 60_000;
    await keyed('b');

    // Act and assess: at 14 days a key still holds
    now = start + 14 * DAY_MS;
    expect(await keyed('a')).toEqual({ ...a, duplicate: true });
    // Past 15 days a keyed append prunes what is older...
    now = start + 15 * DAY_MS + 20 * 60_000;
    await keyed('c');
    expect(keys()).toEqual(['b', 'c']);
    // ...not again within the hour (b is past its time by now)...
    now = start + 15 * DAY_MS + 40 * 60_000;
    await keyed('d');
    expect(keys()).toEqual(['b', 'c', 'd']);
    // ...but after it.
    now = start + 15 * DAY_MS + 90 * 60_000;
    await keyed('e');
    expect(keys()).toEqual(['c', 'd', 'e']);
    expect((await keyed('a')).duplicate).toBe(false);
  });

  it('refuses a file whose schema is newer than the code', () => {
    // Prepare
    for (const store of opened.splice(0)) void store.close();
    const db = new Database(path);
    db.pragma('user_version = 999');
    db.close();

    // Act + Assess
    expect(() => SqliteStore.open(path)).toThrow(StoreError);
    expect(() => SqliteStore.open(path)).toThrow(/schema version 999/);
  });
});
