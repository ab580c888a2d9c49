import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { createSmtpServer } from '../../lib/smtp/server.js';
import { FsBlobStore } from '../../lib/blob/fs/fs-blob-store.js';
import { SqliteJobQueue } from '../../lib/queue/sqlite/sqlite-job-queue.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { IngestJob } from '../../lib/ingest/types.js';
import { silentLogger } from '../../lib/log.js';
import { SmtpSession } from '../helpers/smtp-session.js';
import { tempDir } from '../helpers/mailroom.js';

/**
 * 250 only after both writes are durable: when either the blob or the job cannot be
 * written, the sender gets 451 4.3.0 (and retries later), the session goes on, and no
 * orphan blob stays behind. The faults are injected (a full disk cannot be made on demand
 * as root), the adapters around them are the real ones.
 */
describe('storage failures at the end of DATA', () => {
  let dir: string;
  let blobs: FsBlobStore;
  let queue: SqliteJobQueue<IngestJob>;
  let store: SqliteStore;
  let server: SMTPServer;
  let port: number;

  beforeEach(async () => {
    dir = await tempDir();
    blobs = new FsBlobStore(join(dir, 'blobs'));
    queue = new SqliteJobQueue<IngestJob>({ path: join(dir, 'queue.db') });
    store = SqliteStore.open(join(dir, 'store.db'));
    await store.addDomain('example.test');
    await store.addAccount('demo@example.test', 'hash');
    server = createSmtpServer(
      { blobs, queue, store, logger: silentLogger },
      { mode: 'mx', hostname: 'mx.test', maxMessageBytes: 1 << 20, maxRecipients: 100 },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    queue.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function send(s: SmtpSession): Promise<string> {
    await s.command('MAIL FROM:<a@elsewhere.test>');
    await s.command('RCPT TO:<demo@example.test>');
    await s.command('DATA');
    return s.data('Subject: x\r\n\r\nbody\r\n');
  }

  async function open(): Promise<SmtpSession> {
    const s = await SmtpSession.open(port);
    await s.reply();
    await s.command('EHLO client.test');
    return s;
  }

  it('answers 451 4.3.0 when the blob cannot be written', async () => {
    blobs.put = async () => {
      throw new Error('disk full');
    };
    const s = await open();
    expect(await send(s)).toMatch(/^451 4\.3\.0 /);
    expect(await s.command('NOOP')).toMatch(/^250 /);
    expect((await queue.stats()).visible).toBe(0);
    s.close();
  });

  it('answers 451 4.3.0 when the job cannot be queued, and removes the blob it wrote', async () => {
    queue.send = async () => {
      throw new Error('database is locked');
    };
    const s = await open();
    expect(await send(s)).toMatch(/^451 4\.3\.0 /);
    const files = await readdir(join(dir, 'blobs', 'raw'), { recursive: true }).catch(() => []);
    expect(files.filter((f) => String(f).endsWith('.eml'))).toEqual([]);
    expect(await s.command('NOOP')).toMatch(/^250 /);
    s.close();
  });

  it('answers 250 with the queue id once both are written', async () => {
    const s = await open();
    const reply = await send(s);
    expect(reply).toMatch(/^250 2\.0\.0 Ok: queued as \w+/);
    const [message] = await queue.receive();
    expect(reply).toContain(message!.body.id);
    expect((await blobs.getBuffer(message!.body.blobKey)).toString()).toContain('Subject: x');
    s.close();
  });
});
