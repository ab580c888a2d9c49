import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ImapFlow } from 'imapflow';
import { startTestMailroom, tempDir, type TestMailroom } from '../../helpers/mailroom.js';
import { ROOT } from '../../helpers/dev-process.js';
import {
  DEMO,
  connectImapflow,
  deliver,
  nextEvent,
  plainMessage,
  uniqueTag,
  type FlowClient,
} from '../../helpers/imap-fixtures.js';

/*
 * Several sessions on one mailbox, as a phone and a laptop are: what one does, the other
 * hears, at its next command (NOOP) or at once while it IDLEs (RFC 2177), and that also
 * holds when the change is made by another process on the same store (an ingest worker).
 */

const lib = (path: string) => pathToFileURL(join(ROOT, 'lib', path)).href;

/**
 * Run as a separate process: opens the data directory's store and blobs as ingest does,
 * prints "ready", then for each line on stdin (a base64 raw message) stores the blob,
 * parses and appends to the demo INBOX, and prints the new UID as JSON.
 */
const WORKER = `
import { createInterface } from 'node:readline';
import { dataPaths } from '${lib('app/mailroom.ts')}';
import { SqliteStore } from '${lib('store/sqlite/sqlite-store.ts')}';
import { FsBlobStore } from '${lib('blob/fs/fs-blob-store.ts')}';
import { parseMessage } from '${lib('mail/parse.ts')}';
import { newQueueId, rawBlobKey } from '${lib('smtp/ids.ts')}';

const paths = dataPaths(process.argv[2]!);
const store = SqliteStore.open(paths.store);
const blobs = new FsBlobStore(paths.blobs);
process.stdout.write('ready\\n');
for await (const line of createInterface({ input: process.stdin })) {
  const raw = Buffer.from(line, 'base64');
  const blobKey = rawBlobKey(newQueueId(), new Date());
  await blobs.put(blobKey, raw);
  const parsed = await parseMessage(raw);
  const result = await store.appendMessage(${JSON.stringify(DEMO)}, 'INBOX', {
    blobKey,
    size: raw.length,
    internalDate: Date.now(),
    flags: [],
    ...parsed,
  });
  process.stdout.write(JSON.stringify({ uid: result.uid }) + '\\n');
}
await store.close();
`;

/** The sequence number a session gives a UID (SEARCH UID answers sequence numbers). */
async function seqOf(client: ImapFlow, uid: number): Promise<number | undefined> {
  const found = await client.search({ uid: String(uid) });
  return found ? found[0] : undefined;
}

describe('two IMAP sessions on one mailbox', () => {
  let mailroom: TestMailroom;
  let a: FlowClient;
  let b: FlowClient;
  const clients: ImapFlow[] = [];

  /** Two fresh sessions with INBOX selected; a few messages to work on. */
  async function prepare(count: number) {
    const tag = uniqueTag('sess');
    const messages = await deliver(
      mailroom,
      Array.from({ length: count }, (_, i) => plainMessage(`${tag}-${i}`)),
    );
    a = await connectImapflow(mailroom.imapPort);
    b = await connectImapflow(mailroom.imapPort);
    clients.push(a.client, b.client);
    await a.client.mailboxOpen('INBOX');
    await b.client.mailboxOpen('INBOX');
    return messages;
  }

  /**
   * Starts IDLE and resolves once the server has confirmed it, with the promise of the IDLE
   * command itself (wrapped: an async function returning it would wait for IDLE to end).
   */
  async function idle(client: FlowClient): Promise<{ done: Promise<unknown> }> {
    const started = client.nextIdle();
    const done = client.client.idle();
    await started;
    return { done };
  }

  beforeAll(async () => {
    mailroom = await startTestMailroom();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.logout().catch(() => client.close());
  });

  afterAll(async () => {
    await mailroom?.cleanup();
  });

  it("sees the other session's flag change at NOOP", async () => {
    const [first] = await prepare(2);
    const seq = await seqOf(b.client, first!.uid);
    const heard = nextEvent(b.client, 'flags', (e) => e.uid === first!.uid);

    await a.client.messageFlagsAdd(String(first!.uid), ['\\Flagged'], { uid: true });
    await b.client.noop();

    const { data } = await heard;
    expect(data.path).toBe('INBOX');
    expect(data.seq).toBe(seq);
    expect([...data.flags]).toEqual(['\\Flagged']);
  });

  it("sees the other session's expunge and new mail at NOOP", async () => {
    const [, second] = await prepare(3);
    const before = b.client.mailbox ? b.client.mailbox.exists : 0;
    const seq = await seqOf(b.client, second!.uid);
    const expunged = nextEvent(b.client, 'expunge');

    await a.client.messageDelete(String(second!.uid), { uid: true });
    await b.client.noop();

    expect((await expunged).data.seq).toBe(seq);
    expect(b.client.mailbox && b.client.mailbox.exists).toBe(before - 1);

    const exists = nextEvent(b.client, 'exists');
    await deliver(mailroom, [plainMessage(uniqueTag('noop-new'))]);
    await b.client.noop();

    expect((await exists).data).toMatchObject({ count: before, prevCount: before - 1 });
  });

  it('hears flag changes, expunges and new mail while it IDLEs, each within 1 s', async () => {
    const [first, second] = await prepare(3);
    const { done: idling } = await idle(b);
    const before = b.client.mailbox ? b.client.mailbox.exists : 0;

    const flagged = nextEvent(b.client, 'flags', (e) => e.uid === first!.uid);
    const flagAt = Date.now();
    await a.client.messageFlagsAdd(String(first!.uid), ['\\Seen', '$Done'], { uid: true });
    const flagEvent = await flagged;

    const expunged = nextEvent(b.client, 'expunge');
    const expungeAt = Date.now();
    await a.client.messageDelete(String(second!.uid), { uid: true });
    const expungeEvent = await expunged;

    const exists = nextEvent(b.client, 'exists');
    const sentAt = Date.now();
    await deliver(mailroom, [plainMessage(uniqueTag('idle-new'))]);
    const existsEvent = await exists;

    expect([...flagEvent.data.flags].sort()).toEqual(['$Done', '\\Seen']);
    expect(flagEvent.at - flagAt).toBeLessThan(1000);
    expect(expungeEvent.data.seq).toBe(before - 1);
    expect(expungeEvent.at - expungeAt).toBeLessThan(1000);
    expect(existsEvent.data).toMatchObject({ count: before, prevCount: before - 1 });
    expect(existsEvent.at - sentAt).toBeLessThan(1000);
    await b.client.noop();
    await idling;
  });

  it('hears, while it IDLEs, a message that another process appended to the store, within 1 s', async () => {
    // Prepare: an IDLE session served by this process, and a worker process on the same data directory.
    await prepare(1);
    const dir = await tempDir('mailroom-worker-');
    const script = join(dir, 'append-from-other-process.mts');
    await writeFile(script, WORKER);
    const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, script, mailroom.config.dataDir], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    try {
      expect((await lines.next()).value, stderr).toBe('ready');
      const before = b.client.mailbox ? b.client.mailbox.exists : 0;
      const { done: idling } = await idle(b);
      const exists = nextEvent(b.client, 'exists', () => true, 3000);
      const tag = uniqueTag('other-process');

      // Act: the other process appends.
      child.stdin.write(`${plainMessage(tag).toString('base64')}\n`);
      const appended = JSON.parse(String((await lines.next()).value)) as { uid: number };
      const appendedAt = Date.now();

      // Assess: this process's IDLE session heard it, within 1 s of the append.
      const event = await exists;
      expect(event.data).toMatchObject({ path: 'INBOX', count: before + 1, prevCount: before });
      expect(event.at - appendedAt).toBeLessThan(1000);
      const stored = await mailroom.embedded.store.getMessage(DEMO, 'INBOX', appended.uid);
      expect(stored?.summary.messageId).toBe(`<${tag}@sender.test>`);
      await b.client.noop();
      await idling;
      const fetched = await b.client.fetchOne(String(appended.uid), { envelope: true }, { uid: true });
      expect(fetched && fetched.envelope?.messageId).toBe(`<${tag}@sender.test>`);
    } finally {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
