import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { FsBlobStore } from '../../lib/blob/fs/fs-blob-store.js';
import { silentLogger } from '../../lib/log.js';
import { hashPassword } from '../../lib/auth/password.js';
import { createImapDeps, createImapServer, type ImapServer } from '../../lib/imap/server.js';
import { ensureSelfSignedCertificate } from '../../lib/tls/certificate.js';
import { makeNewMessage } from '../helpers/messages.js';
import { tempDir } from '../helpers/mailroom.js';
import { ImapTranscript } from '../helpers/imap-transcript.js';

const USER = 'demo@example.test';
const PASSWORD = 'lifecycle-password';

/** Session lifecycle: autologout, STARTTLS end to end, QRESYNC resynchronisation. */
describe('IMAP session lifecycle', () => {
  let dir: string;
  let store: SqliteStore;
  let imap: ImapServer;
  let port: number;
  beforeAll(async () => {
    dir = await tempDir();
    store = SqliteStore.open(join(dir, 'store.db'));
    await store.addDomain('example.test');
    await store.addAccount(USER, await hashPassword(PASSWORD));
    const tls = await ensureSelfSignedCertificate(dir, 'imap.example.test');
    const deps = createImapDeps(store, new FsBlobStore(join(dir, 'blobs')), silentLogger);
    imap = createImapServer(deps, {
      hostname: 'imap.example.test',
      tls,
      allowInsecureAuth: false,
      autologoutMs: { unauthenticated: 300, authenticated: 600 },
      idleKeepaliveMs: 100,
    });
    await new Promise<void>((resolve) => imap.server.listen(0, '127.0.0.1', resolve));
    port = (imap.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await imap.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs out a silent client with BYE (RFC 3501 §5.4)', async () => {
    const { client } = await ImapTranscript.open(port);
    const started = Date.now();
    expect(await client.line(2000)).toMatch(/^\* BYE Autologout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.isClosed).toBe(true);
  });

  it('upgrades with STARTTLS, drops LOGINDISABLED, and logs in over TLS', async () => {
    const { client, greeting } = await ImapTranscript.open(port);
    expect(greeting).toContain('LOGINDISABLED');
    expect(await client.startTls()).toMatch(/ OK /);
    const caps = await client.command('CAPABILITY');
    expect(caps.untagged[0]).not.toContain('LOGINDISABLED');
    expect(caps.untagged[0]).toContain('AUTH=PLAIN');
    expect((await client.command(`LOGIN ${USER} ${PASSWORD}`)).tagged).toMatch(/ OK /);
    client.close();
  });

  it('resynchronises a QRESYNC client: VANISHED (EARLIER) and changed flags since its MODSEQ', async () => {
    for (let i = 0; i < 4; i++) await store.appendMessage(USER, 'INBOX', makeNewMessage());
    const box = (await store.getMailbox(USER, 'INBOX'))!;
    const known = box.highestModseq;
    await store.updateFlags(USER, 'INBOX', [2], 'add', ['\\Seen']);
    await store.expunge(USER, 'INBOX', [3]);
    const client = await tlsLogin();
    await client.command('ENABLE QRESYNC');
    const reply = await client.command(`SELECT INBOX (QRESYNC (${box.uidValidity} ${known}))`);
    expect(reply.untagged).toContain('* VANISHED (EARLIER) 3');
    expect(reply.untagged).toContainEqual(
      expect.stringMatching(/^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/),
    );
    expect(reply.untagged).toContain('* 3 EXISTS');

    // UID FETCH with VANISHED names the UIDs of the set expunged since the MODSEQ.
    const earlier = await client.command(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${known} VANISHED)`);
    expect(earlier.untagged[0]).toBe('* VANISHED (EARLIER) 3');
    // Expunges are announced as VANISHED, not EXPUNGE, once QRESYNC is on (RFC 7162 §3.2.10).
    await store.expunge(USER, 'INBOX', [1]);
    const noop = await client.command('NOOP');
    expect(noop.untagged).toEqual(['* VANISHED 1']);
    client.close();
  });

  it('keeps a quiet IDLE alive with untagged OK lines (load balancers drop silent flows)', async () => {
    const client = await tlsLogin();
    await client.command('SELECT INBOX');
    client.write('i1 IDLE\r\n');
    expect(await client.line(1000)).toBe('+ idling');
    const started = Date.now();
    expect(await client.line(1000)).toBe('* OK Still here');
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    client.write('DONE\r\n');
    expect(await client.line(1000)).toMatch(/^i1 OK/);
    client.close();
  });

  async function tlsLogin(): Promise<ImapTranscript> {
    const { client } = await ImapTranscript.open(port);
    await client.startTls();
    const reply = await client.command(`LOGIN ${USER} ${PASSWORD}`);
    if (!/ OK /.test(reply.tagged)) throw new Error(reply.tagged);
    return client;
  }
});
