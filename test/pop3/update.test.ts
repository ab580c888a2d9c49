import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { Pop3Transcript } from '../helpers/pop3-transcript.js';
import { loggedIn, type ImapTranscript } from '../helpers/imap-transcript.js';
import { startDevProcess, type DevProcess } from '../helpers/dev-process.js';
import {
  DEMO_PASSWORD,
  eventually,
  startTestMailroom,
  tempDir,
  type TestMailroom,
} from '../helpers/mailroom.js';
import { makeNewMessage } from '../helpers/messages.js';
import { dataPaths } from '../../lib/app/mailroom.js';
import { hashPassword } from '../../lib/auth/password.js';
import { FsBlobStore } from '../../lib/blob/fs/fs-blob-store.js';
import type { BlobStore } from '../../lib/blob/types.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { Store } from '../../lib/store/types.js';

const DEMO = 'demo@example.test';

/**
 * Puts `count` small messages straight into the INBOX (blob first, as ingest does), much
 * faster than SMTP and ingest. Returns their UIDs in order.
 */
async function seed(store: Store, blobs: BlobStore, count: number): Promise<number[]> {
  const messages = Array.from({ length: count }, () => makeNewMessage());
  // Blob writes fsync; a few at a time keep seeding short.
  for (let i = 0; i < messages.length; i += 50) {
    await Promise.all(
      messages
        .slice(i, i + 50)
        .map((m) => blobs.put(m.blobKey, Buffer.from(`${m.headerText}\r\n${m.bodyText}`, 'utf8'))),
    );
  }
  const uids: number[] = [];
  for (const m of messages) uids.push((await store.appendMessage(DEMO, 'INBOX', m)).uid);
  return uids;
}

async function storeUids(store: Store): Promise<number[]> {
  return (await store.listMessageStates(DEMO, 'INBOX')).map((m) => m.uid);
}

/** Logs in with USER/PASS, retrying while the maildrop lock is still held; fails otherwise. */
async function login(port: number, password = DEMO_PASSWORD, timeoutMs = 5000): Promise<Pop3Transcript> {
  const { client } = await Pop3Transcript.open(port);
  await eventually(async () => {
    expect((await client.command(`USER ${DEMO}`)).status).toMatch(/^\+OK/);
    const { status } = await client.command(`PASS ${password}`);
    if (status.startsWith('-ERR [IN-USE]')) return undefined;
    expect(status).toMatch(/^\+OK/);
    return true;
  }, timeoutMs);
  return client;
}

/** UIDL as [message number, unique id] pairs. */
async function uidl(client: Pop3Transcript): Promise<[number, string][]> {
  const reply = await client.command('UIDL', true);
  expect(reply.status).toMatch(/^\+OK/);
  return reply.lines!.map((line) => {
    const [n, id] = line.split(' ');
    return [Number(n), id!];
  });
}

/** Sends every line at once (RFC 2449 PIPELINING) and reads one status line per command. */
async function pipeline(client: Pop3Transcript, lines: string[]): Promise<string[]> {
  client.write(lines.map((line) => `${line}\r\n`).join(''));
  const statuses: string[] = [];
  for (let i = 0; i < lines.length; i++) statuses.push(await client.readLine());
  return statuses;
}

describe('POP3 UPDATE in one process', () => {
  let mailroom: TestMailroom;
  let uidValidity: number;
  const ids = (uids: number[]) => uids.map((uid) => `${uidValidity}.${uid}`);

  beforeEach(async () => {
    mailroom = await startTestMailroom();
    uidValidity = (await mailroom.embedded.store.getMailbox(DEMO, 'INBOX'))!.uidValidity;
  });
  afterEach(async () => {
    await mailroom?.cleanup();
  });

  it('deletes nothing when the connection is cut before QUIT', async () => {
    // Prepare
    const { store, blobs } = mailroom.embedded;
    const uids = await seed(store, blobs, 10);
    const client = await login(mailroom.pop3Port);
    const listed = await uidl(client);
    expect(listed.map(([, id]) => id)).toEqual(ids(uids));

    // Act
    const deleted = await pipeline(client, ['DELE 1', 'DELE 4', 'DELE 10']);
    expect(deleted.every((status) => status.startsWith('+OK'))).toBe(true);
    client.close();

    // Assess: the lock is freed, and the next session sees the same maildrop.
    const again = await login(mailroom.pop3Port, DEMO_PASSWORD, 2000);
    expect(await uidl(again)).toEqual(listed);
    expect((await again.command('STAT')).status).toMatch(/^\+OK 10 \d+$/);
    expect((await again.command('QUIT')).status).toMatch(/^\+OK .*\(0 messages deleted\)/);
    expect(await storeUids(store)).toEqual(uids);
  });

  it('deletes nothing on QUIT after DELE then RSET', async () => {
    // Prepare
    const { store, blobs } = mailroom.embedded;
    const uids = await seed(store, blobs, 10);
    const client = await login(mailroom.pop3Port);
    const listed = await uidl(client);
    const stat = (await client.command('STAT')).status;

    // Act
    const statuses = await pipeline(client, ['DELE 2', 'DELE 3', 'DELE 9', 'RSET']);
    const afterReset = (await client.command('STAT')).status;
    const quit = (await client.command('QUIT')).status;

    // Assess
    expect(statuses.every((status) => status.startsWith('+OK'))).toBe(true);
    expect(afterReset).toBe(stat);
    expect(quit).toMatch(/^\+OK .*\(0 messages deleted\)/);
    await client.waitClosed();
    expect(await storeUids(store)).toEqual(uids);
    const again = await login(mailroom.pop3Port);
    expect(await uidl(again)).toEqual(listed);
    expect((await again.command('QUIT')).status).toMatch(/^\+OK/);
  });

  it('removes exactly the odd-numbered of 300 messages on QUIT, and a selected IMAP client sees the expunges', async () => {
    // Prepare
    const { store, blobs } = mailroom.embedded;
    const uids = await seed(store, blobs, 300);
    const odd = uids.filter((_, i) => i % 2 === 0); // message numbers 1, 3, 5, ...
    const even = uids.filter((_, i) => i % 2 === 1);
    const imap: ImapTranscript = await loggedIn(mailroom.imapPort, DEMO, DEMO_PASSWORD);
    const select = await imap.command('SELECT INBOX');
    expect(select.untagged).toContain('* 300 EXISTS');
    const client = await login(mailroom.pop3Port);
    expect(await uidl(client)).toEqual(ids(uids).map((id, i) => [i + 1, id]));

    // Act
    const dele = await pipeline(
      client,
      odd.map((_, k) => `DELE ${2 * k + 1}`),
    );
    const quit = (await client.command('QUIT')).status;

    // Assess: the store
    expect(dele.every((status) => status.startsWith('+OK'))).toBe(true);
    expect(quit).toMatch(/^\+OK .*\(150 messages deleted\)/);
    await client.waitClosed();
    expect(await storeUids(store)).toEqual(even);
    expect((await store.getMailbox(DEMO, 'INBOX'))!.messages).toBe(150);
    // ...the next POP3 session: the rest, renumbered, with their unique ids unchanged
    const again = await login(mailroom.pop3Port);
    expect(await uidl(again)).toEqual(ids(even).map((id, i) => [i + 1, id]));
    expect((await again.command('QUIT')).status).toMatch(/^\+OK/);
    // ...and IMAP: replaying its EXPUNGEs (RFC 3501 §7.4.1) on its own view leaves the evens.
    const view = [...uids];
    let expunges = 0;
    await eventually(async () => {
      const noop = await imap.command('NOOP');
      expect(noop.tagged).toMatch(/ OK /);
      for (const line of noop.untagged) {
        const match = /^\* (\d+) EXPUNGE$/.exec(line);
        if (!match) continue;
        const n = Number(match[1]);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(view.length);
        view.splice(n - 1, 1);
        expunges++;
      }
      return expunges >= 150 ? true : undefined;
    }, 3000);
    expect(expunges).toBe(150);
    expect(view).toEqual(even);
    const status = await imap.command('STATUS INBOX (MESSAGES)');
    expect(status.untagged.join('\n')).toMatch(/MESSAGES 150\)/);
    imap.close();
  });
});

/**
 * A dev process SIGKILLed while QUIT expunges (MAX_BATCH = 50 messages per transaction): the
 * maildrop after restart holds every message not marked, and each marked one at most once.
 */
describe('POP3 UPDATE killed mid-way', () => {
  // A 1 s lease: the killed process's lock runs out soon after the kill.
  const env = { MAILROOM_POP3_LOCK_SECONDS: '1' };
  const SEEDED = 800;
  const ATTEMPTS = 4;
  let dataDir: string;
  let store: SqliteStore | undefined;
  let dev: DevProcess | undefined;

  afterAll(async () => {
    if (dev && dev.child.exitCode === null && dev.child.signalCode === null) {
      dev.child.kill('SIGKILL');
      await dev.exited;
    }
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no unmarked message and deletes none twice', { timeout: 60_000 }, async () => {
    // Prepare: the account and its maildrop made directly in the data directory, before the
    // first start (which then bootstraps nothing). Odd UIDs are the ones to delete.
    dataDir = await tempDir();
    const paths = dataPaths(dataDir);
    store = SqliteStore.open(paths.store);
    const blobs = new FsBlobStore(paths.blobs);
    await store.addDomain('example.test');
    await store.addAccount(DEMO, await hashPassword(DEMO_PASSWORD));
    await seed(store, blobs, SEEDED);
    const uidValidity = (await store.getMailbox(DEMO, 'INBOX'))!.uidValidity;
    const isOdd = (uid: number) => uid % 2 === 1;
    let evens = (await storeUids(store)).filter((uid) => !isOdd(uid));
    dev = await startDevProcess(dataDir, env);
    expect(dev.password).toBeUndefined();

    let midway = 0;
    for (let attempt = 0; attempt < ATTEMPTS && midway === 0; attempt++) {
      // Prepare: after a kill that came too late, more odd messages to delete.
      if ((await storeUids(store)).filter(isOdd).length < 200) {
        await seed(store, blobs, SEEDED);
        evens = (await storeUids(store)).filter((uid) => !isOdd(uid));
      }
      const before = await storeUids(store);
      const oddBefore = before.filter(isOdd);
      const client = await login(dev.pop3Port);
      const listed = await uidl(client);
      expect(listed.map(([, id]) => id)).toEqual(before.map((uid) => `${uidValidity}.${uid}`));
      const marked = await pipeline(
        client,
        before.flatMap((uid, i) => (isOdd(uid) ? [`DELE ${i + 1}`] : [])),
      );
      expect(marked.every((status) => status.startsWith('+OK'))).toBe(true);

      // Act: QUIT, and SIGKILL as soon as the first batch of expunges is committed.
      client.write('QUIT\r\n');
      const deadline = Date.now() + 5000;
      while ((await store.getMailbox(DEMO, 'INBOX'))!.messages === before.length && Date.now() < deadline);
      dev.child.kill('SIGKILL');
      expect(await dev.exited).toBe('SIGKILL');
      const quit = await client.readLine();
      client.close();

      // Assess: evens all there, odds each there or gone, nothing new, nothing twice.
      const after = await storeUids(store);
      expect(new Set(after).size).toBe(after.length);
      expect(after.filter((uid) => !before.includes(uid))).toEqual([]);
      expect(after.filter((uid) => !isOdd(uid))).toEqual(evens);
      const oddAfter = after.filter(isOdd);
      expect(oddAfter.length).toBeLessThan(oddBefore.length);
      // A QUIT that was answered +OK had committed every deletion.
      if (quit.startsWith('+OK')) expect(oddAfter).toEqual([]);
      if (oddAfter.length > 0) midway++;

      // ...and after a restart, the maildrop a new session lists is exactly the store's.
      dev = await startDevProcess(dataDir, env);
      expect(dev.password).toBeUndefined();
      const again = await login(dev.pop3Port);
      expect(await uidl(again)).toEqual(after.map((uid, i) => [i + 1, `${uidValidity}.${uid}`]));
      expect((await again.command('QUIT')).status).toMatch(/^\+OK .*\(0 messages deleted\)/);
      await again.waitClosed();
    }
    // At least one kill landed between the first batch and the last.
    expect(midway).toBeGreaterThan(0);

    // Act: a session that finishes the job.
    const rest = await storeUids(store);
    const client = await login(dev.pop3Port);
    const marked = await pipeline(
      client,
      rest.flatMap((uid, i) => (isOdd(uid) ? [`DELE ${i + 1}`] : [])),
    );
    const quit = (await client.command('QUIT')).status;

    // Assess
    expect(marked.every((status) => status.startsWith('+OK'))).toBe(true);
    expect(quit).toMatch(new RegExp(`^\\+OK .*\\(${marked.length} messages deleted\\)`));
    expect(await storeUids(store)).toEqual(evens);
    const last = await login(dev.pop3Port);
    expect(await uidl(last)).toEqual(evens.map((uid, i) => [i + 1, `${uidValidity}.${uid}`]));
    expect((await last.command('QUIT')).status).toMatch(/^\+OK/);
  });
});
