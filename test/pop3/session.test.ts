import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { startTestMailroom, tempDir, DEMO_PASSWORD, type TestMailroom } from '../helpers/mailroom.js';
import {
  DEMO,
  deliver,
  plainMessage,
  cyrillicMessage,
  storedRaw,
  uniqueTag,
} from '../helpers/imap-fixtures.js';
import { Pop3Transcript } from '../helpers/pop3-transcript.js';
import { ensureSelfSignedCertificate } from '../../lib/tls/certificate.js';
import { createPop3Deps, createPop3Server } from '../../lib/pop3/server.js';
import { silentLogger } from '../../lib/log.js';
import type { MessageMeta } from '../../lib/store/types.js';

/*
 * Scripted POP3 transcripts over real sockets: every command in every state, and the
 * errors, as RFC 1939, RFC 2449 (CAPA, response codes), RFC 5034 (AUTH) and RFC 2595 (STLS)
 * have them.
 */

const plain = (user: string, password: string, authz = '') =>
  Buffer.from(`${authz}\0${user}\0${password}`).toString('base64');

describe('POP3 session on loopback (dev: USER/PASS without TLS)', () => {
  let mailroom: TestMailroom;
  let stored: MessageMeta[];
  let uidValidity: number;
  const open: Pop3Transcript[] = [];

  beforeAll(async () => {
    mailroom = await startTestMailroom();
    stored = await deliver(mailroom, [
      plainMessage(uniqueTag('one')),
      plainMessage(uniqueTag('dots'), '.starts with a dot\r\n..two dots\r\n.\r\nlast\r\n'),
      cyrillicMessage('koi8-r', uniqueTag('cyr'), 'Привет', 'Текст письма'),
    ]);
    uidValidity = (await mailroom.embedded.store.getMailbox(DEMO, 'INBOX'))!.uidValidity;
  });

  afterAll(async () => {
    await mailroom.cleanup();
  });

  afterEach(() => {
    open.splice(0).forEach((c) => c.close());
  });

  async function connect(): Promise<Pop3Transcript> {
    const { client, greeting } = await Pop3Transcript.open(mailroom.pop3Port);
    expect(greeting).toMatch(/^\+OK .*POP3 ready/);
    open.push(client);
    return client;
  }

  async function login(): Promise<Pop3Transcript> {
    const client = await connect();
    expect((await client.command(`USER ${DEMO}`)).status).toBe('+OK Send PASS');
    expect((await client.command(`PASS ${DEMO_PASSWORD}`)).status).toMatch(
      /^\+OK Logged in, 3 messages \(\d+ octets\)$/,
    );
    return client;
  }

  const sizes = () => stored.map((m) => m.size);

  it('lists capabilities before login (USER, SASL PLAIN) and after it (no USER)', async () => {
    const client = await connect();
    const before = await client.command('CAPA', true);
    expect(before.status).toMatch(/^\+OK/);
    expect(before.lines).toEqual([
      'TOP',
      'UIDL',
      'RESP-CODES',
      'AUTH-RESP-CODE',
      'PIPELINING',
      'USER',
      'SASL PLAIN',
      'IMPLEMENTATION Mailroom',
    ]);
    await client.command(`USER ${DEMO}`);
    await client.command(`PASS ${DEMO_PASSWORD}`);
    const after = await client.command('CAPA', true);
    expect(after.lines).toEqual([
      'TOP',
      'UIDL',
      'RESP-CODES',
      'AUTH-RESP-CODE',
      'PIPELINING',
      'IMPLEMENTATION Mailroom',
    ]);
  });

  it('refuses TRANSACTION commands before login and AUTHORIZATION commands after it', async () => {
    const client = await connect();
    for (const command of ['STAT', 'LIST', 'UIDL', 'RETR 1', 'TOP 1 0', 'DELE 1', 'NOOP', 'RSET']) {
      expect((await client.command(command)).status).toMatch(/^-ERR .* not allowed before login$/);
    }
    await client.command(`USER ${DEMO}`);
    await client.command(`PASS ${DEMO_PASSWORD}`);
    for (const command of [`USER ${DEMO}`, 'PASS x', 'AUTH PLAIN', 'STLS']) {
      expect((await client.command(command)).status).toMatch(/^-ERR .* not allowed after login$/);
    }
    expect((await client.command('STAT')).status).toMatch(/^\+OK 3 /);
  });

  it('answers unknown commands, garbage and over-long lines with -ERR and goes on', async () => {
    const client = await connect();
    expect((await client.command('APOP demo x')).status).toBe('-ERR Unknown command APOP');
    expect((await client.command('')).status).toMatch(/^-ERR/);
    client.write(Buffer.from([0, 1, 2, 0xff, 13, 10]));
    expect((await client.reply()).status).toMatch(/^-ERR/);
    expect((await client.command(`USER ${'x'.repeat(10_000)}`)).status).toBe('-ERR Line too long');
    expect((await client.command('CAPA', true)).status).toMatch(/^\+OK/);
  });

  it('closes the connection after too many bad commands', async () => {
    const client = await connect();
    let last = '';
    for (let i = 0; i < 20; i++) last = (await client.command('BOGUS')).status;
    expect(last).toBe('-ERR Unknown command BOGUS');
    expect(await client.readLine()).toBe('-ERR Too many bad commands, closing');
    await client.waitClosed();
  });

  it('USER/PASS: PASS needs USER, a wrong password is -ERR [AUTH], three of them close the session', async () => {
    const client = await connect();
    expect((await client.command('USER')).status).toMatch(/^-ERR USER takes one argument/);
    expect((await client.command('PASS whatever')).status).toBe('-ERR Send USER first');
    for (let i = 0; i < 2; i++) {
      await client.command(`USER ${DEMO}`);
      expect((await client.command('PASS wrong')).status).toBe('-ERR [AUTH] Invalid user name or password');
      // A failed PASS forgets the USER (RFC 1939 §7).
      expect((await client.command('PASS wrong')).status).toBe('-ERR Send USER first');
    }
    await client.command('USER nobody@example.test');
    expect((await client.command('PASS wrong')).status).toBe('-ERR [AUTH] Invalid user name or password');
    expect(await client.readLine()).toBe('-ERR Too many failed logins');
    await client.waitClosed();
  });

  it('takes a password with spaces from the rest of the PASS line', async () => {
    const address = 'spaces@example.test';
    const { hashPassword } = await import('../../lib/auth/password.js');
    await mailroom.embedded.store.addAccount(address, await hashPassword('two words '));
    const client = await connect();
    await client.command(`USER ${address}`);
    expect((await client.command('PASS two words ')).status).toMatch(
      /^\+OK Logged in, 0 messages \(0 octets\)/,
    );
    expect((await client.command('STAT')).status).toBe('+OK 0 0');
    expect((await client.command('LIST', true)).lines).toEqual([]);
  });

  it('AUTH: lists mechanisms, takes PLAIN with an initial response or after "+ ", and can be cancelled', async () => {
    const client = await connect();
    expect((await client.command('AUTH', true)).lines).toEqual(['PLAIN']);
    expect((await client.command('AUTH CRAM-MD5')).status).toBe('-ERR Unsupported mechanism CRAM-MD5');
    expect((await client.command('AUTH PLAIN')).status).toBe('+ ');
    expect((await client.command('*')).status).toBe('-ERR Authentication cancelled');
    expect((await client.command('AUTH PLAIN not-base64!')).status).toBe(
      '-ERR [AUTH] Response is not base64',
    );
    expect(
      (await client.command(`AUTH PLAIN ${plain(DEMO, DEMO_PASSWORD, 'other@example.test')}`)).status,
    ).toBe('-ERR [AUTH] Authorization identity must be empty or the user');
    expect((await client.command('AUTH PLAIN')).status).toBe('+ ');
    expect((await client.command(plain(DEMO, DEMO_PASSWORD))).status).toMatch(/^\+OK Logged in, 3 messages/);
    expect((await client.command('STAT')).status).toMatch(/^\+OK 3 /);

    const second = await connect();
    await client.command('QUIT');
    expect((await second.command(`AUTH PLAIN ${plain(DEMO, 'wrong')}`)).status).toBe(
      '-ERR [AUTH] Invalid user name or password',
    );
    expect((await second.command(`AUTH PLAIN ${plain(DEMO, DEMO_PASSWORD, DEMO)}`)).status).toMatch(/^\+OK/);
  });

  it('STAT, LIST and UIDL: counts, exact sizes, and unique ids UIDVALIDITY.UID', async () => {
    const client = await login();
    const total = sizes().reduce((a, b) => a + b, 0);
    expect((await client.command('STAT')).status).toBe(`+OK 3 ${total}`);
    const list = await client.command('LIST', true);
    expect(list.status).toBe(`+OK 3 messages (${total} octets)`);
    expect(list.lines).toEqual(sizes().map((size, i) => `${i + 1} ${size}`));
    expect((await client.command('LIST 2')).status).toBe(`+OK 2 ${stored[1]!.size}`);
    const uidl = await client.command('UIDL', true);
    expect(uidl.lines).toEqual(stored.map((m, i) => `${i + 1} ${uidValidity}.${m.uid}`));
    expect((await client.command('UIDL 3')).status).toBe(`+OK 3 ${uidValidity}.${stored[2]!.uid}`);
    for (const [command, reply] of [
      ['LIST 0', '-ERR No such message 0'],
      ['LIST 4', '-ERR No such message 4'],
      ['LIST x', '-ERR Invalid message number x'],
      ['LIST -1', '-ERR Invalid message number -1'],
      ['LIST 1 2', '-ERR LIST takes at most a message number'],
      ['UIDL 9', '-ERR No such message 9'],
      ['STAT 1', '-ERR STAT takes no arguments'],
    ]) {
      expect((await client.command(command!)).status).toBe(reply);
    }
  });

  it('RETR sends the stored bytes, byte-stuffed, and exactly the octets LIST announced', async () => {
    const client = await login();
    for (const [i, meta] of stored.entries()) {
      const raw = await storedRaw(mailroom, meta);
      const reply = await client.command(`RETR ${i + 1}`, true);
      expect(reply.status).toBe(`+OK ${meta.size} octets`);
      const stuffed = raw.toString('latin1').replace(/^\./gm, '..');
      expect(reply.raw!.toString('latin1')).toBe(stuffed);
      const unstuffed = Buffer.from(reply.lines!.join('\r\n') + '\r\n', 'latin1');
      expect(unstuffed.equals(raw)).toBe(true);
      expect(unstuffed.length).toBe(meta.size);
    }
    // The dot-lines message really went out stuffed.
    expect((await client.command('RETR 2', true)).raw!.toString()).toContain(
      '\r\n...two dots\r\n..\r\nlast\r\n',
    );
    expect((await client.command('RETR')).status).toBe('-ERR RETR takes a message number');
    expect((await client.command('RETR 7')).status).toBe('-ERR No such message 7');
  });

  it('streams a message over 1 MB byte-exact, dots stuffed across chunk boundaries', async () => {
    const line = (i: number) => (i % 7 === 0 ? '.' : '') + `line ${i} `.padEnd(70, 'x') + '\r\n';
    const body = Array.from({ length: 30_000 }, (_, i) => line(i)).join('');
    const [big] = await deliver(mailroom, [plainMessage(uniqueTag('big'), body)]);
    const raw = await storedRaw(mailroom, big!);
    expect(raw.length).toBeGreaterThan(2 * 1024 * 1024);
    const client = await connect();
    await client.command(`USER ${DEMO}`);
    const status = (await client.command(`PASS ${DEMO_PASSWORD}`)).status;
    const n = Number(/Logged in, (\d+) messages/.exec(status)![1]);
    const reply = await client.command(`RETR ${n}`, true);
    expect(reply.status).toBe(`+OK ${big!.size} octets`);
    expect(reply.raw!.equals(Buffer.from(raw.toString('latin1').replace(/^\./gm, '..'), 'latin1'))).toBe(true);
    const top = await client.command(`TOP ${n} 3`, true);
    expect(top.lines!.slice(-3)).toEqual([0, 1, 2].map((i) => line(i).trimEnd()));
    await client.command(`DELE ${n}`);
    await client.command('QUIT');
    await client.waitClosed();
  });

  it('TOP sends the header, the empty line and n lines of the body', async () => {
    const client = await login();
    const raw = (await storedRaw(mailroom, stored[1]!)).toString('latin1');
    const headerEnd = raw.indexOf('\r\n\r\n') + 2;
    const header = raw.slice(0, headerEnd).split('\r\n').slice(0, -1);
    const top0 = await client.command('TOP 2 0', true);
    expect(top0.status).toMatch(/^\+OK/);
    expect(top0.lines).toEqual([...header, '']);
    const top2 = await client.command('TOP 2 2', true);
    expect(top2.lines).toEqual([...header, '', '.starts with a dot', '..two dots']);
    expect((await client.command('TOP 2 1000', true)).lines!.join('\r\n') + '\r\n').toBe(raw);
    expect((await client.command('TOP 2')).status).toBe('-ERR TOP takes a message number and a line count');
    expect((await client.command('TOP 2 -1')).status).toBe('-ERR Invalid line count -1');
    expect((await client.command('TOP 5 1')).status).toBe('-ERR No such message 5');
  });

  it('DELE marks, RSET unmarks, NOOP does nothing, and QUIT without DELE deletes nothing', async () => {
    const client = await login();
    expect((await client.command('DELE 1')).status).toBe('+OK Message 1 deleted');
    expect((await client.command('DELE 1')).status).toBe('-ERR Message 1 already deleted');
    expect((await client.command('RETR 1')).status).toBe('-ERR Message 1 already deleted');
    expect((await client.command('LIST 1')).status).toBe('-ERR Message 1 already deleted');
    expect((await client.command('STAT')).status).toBe(`+OK 2 ${stored[1]!.size + stored[2]!.size}`);
    expect((await client.command('LIST', true)).lines).toEqual([
      `2 ${stored[1]!.size}`,
      `3 ${stored[2]!.size}`,
    ]);
    expect((await client.command('NOOP')).status).toBe('+OK Nothing done');
    const total = sizes().reduce((a, b) => a + b, 0);
    expect((await client.command('RSET')).status).toBe(`+OK Maildrop has 3 messages (${total} octets)`);
    expect((await client.command('STAT')).status).toBe(`+OK 3 ${total}`);
    expect((await client.command('QUIT')).status).toMatch(/^\+OK .*signing off \(0 messages deleted\)$/);
    await client.waitClosed();
    expect((await mailroom.embedded.store.listMessages(DEMO, 'INBOX')).length).toBe(3);
  });

  it('QUIT in AUTHORIZATION just says goodbye', async () => {
    const client = await connect();
    await client.command(`USER ${DEMO}`);
    expect((await client.command('QUIT')).status).toMatch(/^\+OK .*signing off$/);
    await client.waitClosed();
  });

  it('answers pipelined commands in order (RFC 2449 PIPELINING)', async () => {
    const client = await connect();
    client.write(`USER ${DEMO}\r\nPASS ${DEMO_PASSWORD}\r\nSTAT\r\nLIST 1\r\nUIDL 1\r\nTOP 1 0\r\nNOOP\r\n`);
    expect((await client.reply()).status).toBe('+OK Send PASS');
    expect((await client.reply()).status).toMatch(/^\+OK Logged in/);
    expect((await client.reply()).status).toMatch(/^\+OK 3 /);
    expect((await client.reply()).status).toBe(`+OK 1 ${stored[0]!.size}`);
    expect((await client.reply()).status).toBe(`+OK 1 ${uidValidity}.${stored[0]!.uid}`);
    expect((await client.reply(true)).lines!.at(-1)).toBe('');
    expect((await client.reply()).status).toBe('+OK Nothing done');
  });

  it('keeps the maildrop as it stood at login: mail that arrives later waits for the next session', async () => {
    const client = await login();
    const [late] = await deliver(mailroom, [plainMessage(uniqueTag('late'))]);
    expect((await client.command('STAT')).status).toMatch(/^\+OK 3 /);
    expect((await client.command('LIST 4')).status).toBe('-ERR No such message 4');
    await client.command('QUIT');
    await client.waitClosed();
    const again = await connect();
    await again.command(`USER ${DEMO}`);
    expect((await again.command(`PASS ${DEMO_PASSWORD}`)).status).toMatch(/^\+OK Logged in, 4 messages/);
    expect((await again.command('UIDL 4')).status).toBe(`+OK 4 ${uidValidity}.${late!.uid}`);
    await again.command('DELE 4');
    await again.command('QUIT');
    await again.waitClosed();
  });

  it('answers -ERR when IMAP expunged a message the maildrop still lists', async () => {
    const [extra] = await deliver(mailroom, [plainMessage(uniqueTag('gone'))]);
    const client = await connect();
    await client.command(`USER ${DEMO}`);
    await client.command(`PASS ${DEMO_PASSWORD}`);
    await mailroom.embedded.store.expunge(DEMO, 'INBOX', [extra!.uid]);
    expect((await client.command('RETR 4')).status).toBe('-ERR Message 4 was removed by another client');
    expect((await client.command('DELE 4')).status).toBe('+OK Message 4 deleted');
    expect((await client.command('QUIT')).status).toMatch(/^\+OK .*\(1 messages deleted\)$/);
    expect((await mailroom.embedded.store.listMessages(DEMO, 'INBOX')).map((m) => m.uid)).toEqual(
      stored.map((m) => m.uid),
    );
  });

  it('QUIT commits DELE as expunges and marks retrieved messages \\Seen (TOP does not)', async () => {
    const extra = await deliver(mailroom, [plainMessage(uniqueTag('x')), plainMessage(uniqueTag('y'))]);
    const client = await connect();
    await client.command(`USER ${DEMO}`);
    await client.command(`PASS ${DEMO_PASSWORD}`);
    await client.command('RETR 4', true);
    await client.command('TOP 5 0', true);
    await client.command('RETR 1', true);
    await client.command('DELE 1');
    expect((await client.command('QUIT')).status).toMatch(/^\+OK .*\(1 messages deleted\)$/);
    await client.waitClosed();
    const left = await mailroom.embedded.store.listMessages(DEMO, 'INBOX');
    expect(left.map((m) => m.uid)).toEqual([stored[1]!.uid, stored[2]!.uid, extra[0]!.uid, extra[1]!.uid]);
    expect(left.find((m) => m.uid === extra[0]!.uid)!.flags).toContain('\\Seen');
    expect(left.find((m) => m.uid === extra[1]!.uid)!.flags).not.toContain('\\Seen');
    // Put the first message back for the other tests' numbering.
    stored = [stored[1]!, stored[2]!, ...extra];
  });
});

describe('POP3 with TLS required (not loopback dev)', () => {
  let mailroom: TestMailroom;

  beforeAll(async () => {
    const tls = await ensureSelfSignedCertificate(await tempDir(), 'pop3.example.test');
    mailroom = await startTestMailroom({ allowInsecureAuth: false }, { tls: tls! });
    await deliver(mailroom, [plainMessage(uniqueTag('tls'))]);
  });

  afterAll(async () => {
    await mailroom.cleanup();
  });

  it('refuses USER, PASS and AUTH in clear, offers STLS, and logs in after it', async () => {
    const { client } = await Pop3Transcript.open(mailroom.pop3Port);
    const caps = await client.command('CAPA', true);
    expect(caps.lines).toContain('STLS');
    expect(caps.lines).not.toContain('USER');
    expect(caps.lines).not.toContain('SASL PLAIN');
    const refused = '-ERR [AUTH] Plain text authentication is disallowed without TLS; use STLS';
    expect((await client.command(`USER ${DEMO}`)).status).toBe(refused);
    expect((await client.command(`AUTH PLAIN ${plain(DEMO, DEMO_PASSWORD)}`)).status).toBe(refused);
    expect(await client.startTls()).toBe('+OK Begin TLS negotiation');
    const after = await client.command('CAPA', true);
    expect(after.lines).toContain('USER');
    expect(after.lines).not.toContain('STLS');
    expect((await client.command('STLS')).status).toBe('-ERR Already using TLS');
    await client.command(`USER ${DEMO}`);
    expect((await client.command(`PASS ${DEMO_PASSWORD}`)).status).toMatch(/^\+OK Logged in, 1 messages/);
    client.close();
  });

  it('drops commands a client sent in clear along with STLS (RFC 2595 §4)', async () => {
    const { client } = await Pop3Transcript.open(mailroom.pop3Port);
    // An attacker in the middle appends a command after STLS; it must not run after the handshake.
    client.write(`STLS\r\nUSER ${DEMO}\r\n`);
    const status = await client.readLine();
    expect(status).toBe('+OK Begin TLS negotiation');
    await client.startTlsHandshake();
    // Had USER run, PASS would be accepted; after the handshake the session knows no user.
    expect((await client.command(`PASS ${DEMO_PASSWORD}`)).status).toBe('-ERR Send USER first');
    client.close();
  });

  it('serves implicit TLS on its own port', async () => {
    const { client, greeting } = await Pop3Transcript.open(mailroom.pop3TlsPort!, { tls: true });
    expect(greeting).toMatch(/^\+OK/);
    expect((await client.command('CAPA', true)).lines).not.toContain('STLS');
    await client.command(`USER ${DEMO}`);
    expect((await client.command(`PASS ${DEMO_PASSWORD}`)).status).toMatch(/^\+OK Logged in, 1 messages/);
    expect((await client.command('QUIT')).status).toMatch(/^\+OK/);
    client.close();
  });
});

describe('POP3 server shutdown', () => {
  it('tells logged-in sessions, deletes nothing, and frees their locks before the store closes', async () => {
    const mailroom = await startTestMailroom();
    try {
      await deliver(mailroom, [plainMessage(uniqueTag('stop'))]);
      const deps = createPop3Deps(mailroom.embedded.store, mailroom.embedded.blobs, silentLogger);
      const server = createPop3Server(deps, { hostname: 'pop3.test', allowInsecureAuth: true });
      await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
      const { client } = await Pop3Transcript.open((server.server.address() as AddressInfo).port);
      await client.command(`USER ${DEMO}`);
      await client.command(`PASS ${DEMO_PASSWORD}`);
      await client.command('DELE 1');
      expect(await mailroom.embedded.store.acquireLease(`pop3:${DEMO}`, 'someone-else', 1000)).toBe(false);
      await server.close();
      expect(await client.readLine()).toBe('-ERR [SYS/TEMP] Server shutting down');
      expect(await mailroom.embedded.store.acquireLease(`pop3:${DEMO}`, 'someone-else', 1000)).toBe(true);
      expect((await mailroom.embedded.store.listMessages(DEMO, 'INBOX')).length).toBe(1);
    } finally {
      await mailroom.cleanup();
    }
  });
});

describe('POP3 autologout', () => {
  it('closes an idle session after the timer without entering UPDATE', async () => {
    const mailroom = await startTestMailroom();
    try {
      await deliver(mailroom, [plainMessage(uniqueTag('idle'))]);
      const deps = createPop3Deps(mailroom.embedded.store, mailroom.embedded.blobs, silentLogger);
      const server = createPop3Server(deps, {
        hostname: 'pop3.test',
        allowInsecureAuth: true,
        autologoutMs: 300,
      });
      await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
      const port = (server.server.address() as AddressInfo).port;
      const { client } = await Pop3Transcript.open(port);
      await client.command(`USER ${DEMO}`);
      await client.command(`PASS ${DEMO_PASSWORD}`);
      expect((await client.command('DELE 1')).status).toMatch(/^\+OK/);
      expect(await client.readLine()).toBe('-ERR Autologout; idle for too long');
      await client.waitClosed();
      expect((await mailroom.embedded.store.listMessages(DEMO, 'INBOX')).length).toBe(1);
      await server.close();
    } finally {
      await mailroom.cleanup();
    }
  });
});
