import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpSession } from '../helpers/smtp-session.js';
import { startTestMailroom, eventually, type TestMailroom } from '../helpers/mailroom.js';

const MESSAGE = 'From: a@elsewhere.test\r\nTo: demo@example.test\r\nSubject: hi\r\n\r\nhello\r\n';

describe('SMTP ingress transcript (RFC 5321)', () => {
  let mailroom: TestMailroom;
  beforeAll(async () => {
    mailroom = await startTestMailroom({ maxMessageBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await mailroom.cleanup();
  });

  async function session(): Promise<SmtpSession> {
    const s = await SmtpSession.open(mailroom.smtpPort);
    expect(await s.reply()).toMatch(/^220 /);
    const ehlo = await s.command('EHLO client.test');
    expect(ehlo).toMatch(/^250-/);
    return s;
  }

  it('advertises SIZE, 8BITMIME, SMTPUTF8, PIPELINING and ENHANCEDSTATUSCODES, and no AUTH on MX', async () => {
    const s = await SmtpSession.open(mailroom.smtpPort);
    await s.reply();
    const ehlo = await s.command('EHLO client.test');
    expect(ehlo).toContain('SIZE 65536');
    for (const ext of ['8BITMIME', 'SMTPUTF8', 'PIPELINING', 'ENHANCEDSTATUSCODES'])
      expect(ehlo).toContain(ext);
    expect(ehlo).not.toContain('AUTH');
    s.close();
  });

  it('accepts HELO, NOOP, RSET, HELP and QUIT', async () => {
    const s = await SmtpSession.open(mailroom.smtpPort);
    await s.reply();
    expect(await s.command('HELO client.test')).toMatch(/^250 /);
    expect(await s.command('NOOP')).toMatch(/^250 /);
    expect(await s.command('RSET')).toMatch(/^250 /);
    expect(await s.command('HELP')).toMatch(/^214[ -]/);
    expect(await s.command('QUIT')).toMatch(/^221 /);
  });

  it('answers VRFY with 252 and discloses nothing, whether the user exists or not', async () => {
    const s = await session();
    const known = await s.command('VRFY demo@example.test');
    const unknown = await s.command('VRFY nobody@example.test');
    expect(known).toMatch(/^252 /);
    expect(unknown.slice(0, 3)).toBe(known.slice(0, 3));
    expect(known).not.toContain('demo');
    s.close();
  });

  it.each(['EXPN staff', 'TURN', 'SEND FROM:<a@b.test>', 'SOML FROM:<a@b.test>', 'SAML FROM:<a@b.test>'])(
    'answers %s with 502',
    async (line) => {
      const s = await session();
      expect(await s.command(line)).toMatch(/^502 5\.5\.1 /);
      expect(await s.command('NOOP')).toMatch(/^250 /);
      s.close();
    },
  );

  it('refuses an unknown local recipient with 550 5.1.1 and a relay attempt with 550 5.7.1', async () => {
    const s = await session();
    expect(await s.command('MAIL FROM:<a@elsewhere.test>')).toMatch(/^250 /);
    expect(await s.command('RCPT TO:<nobody@example.test>')).toMatch(/^550 5\.1\.1 /);
    expect(await s.command('RCPT TO:<someone@gmail.example>')).toMatch(/^550 5\.7\.1 /);
    expect(await s.command('RCPT TO:<DEMO@Example.Test>')).toMatch(/^250 /);
    s.close();
  });

  it('accepts the null reverse path', async () => {
    const s = await session();
    expect(await s.command('MAIL FROM:<>')).toMatch(/^250 /);
    expect(await s.command('RCPT TO:<demo@example.test>')).toMatch(/^250 /);
    expect(await s.command('DATA')).toMatch(/^354 /);
    expect(await s.data('Subject: bounce\r\n\r\nreturned\r\n')).toMatch(/^250 2\.0\.0 Ok: queued as \w+/);
    s.close();
  });

  it('takes 100 recipients and answers the 101st with 452 4.5.3', async () => {
    await mailroom.embedded.store.addRoute('*@example.test', {
      type: 'deliver',
      account: 'demo@example.test',
    });
    const s = await session();
    await s.command('MAIL FROM:<a@elsewhere.test>');
    for (let i = 1; i <= 100; i++) expect(await s.command(`RCPT TO:<r${i}@example.test>`)).toMatch(/^250 /);
    expect(await s.command('RCPT TO:<r101@example.test>')).toMatch(/^452 4\.5\.3 /);
    expect(await s.command('DATA')).toMatch(/^354 /);
    expect(await s.data(MESSAGE)).toMatch(/^250 /);
    s.close();
  });

  it('answers a command line over 512 octets with 500 and keeps the session', async () => {
    const s = await session();
    expect(await s.command(`NOOP ${'x'.repeat(600)}`)).toMatch(/^500 5\.5\.2 Line too long/);
    expect(await s.command('MAIL FROM:<a@elsewhere.test>')).toMatch(/^250 /);
    s.close();
  });

  it('refuses a message with a text line over 1000 octets and keeps the session', async () => {
    const s = await session();
    await s.command('MAIL FROM:<a@elsewhere.test>');
    await s.command('RCPT TO:<demo@example.test>');
    await s.command('DATA');
    expect(await s.data(`Subject: long\r\n\r\n${'y'.repeat(1200)}\r\n`)).toMatch(
      /^500 5\.5\.2 Line too long/,
    );
    expect(await s.command('MAIL FROM:<a@elsewhere.test>')).toMatch(/^250 /);
    expect(await s.command('RCPT TO:<demo@example.test>')).toMatch(/^250 /);
    expect(await s.command('DATA')).toMatch(/^354 /);
    expect(await s.data(`Subject: fine\r\n\r\n${'y'.repeat(990)}\r\n`)).toMatch(/^250 /);
    s.close();
  });

  it('refuses a message over SIZE with 552, at MAIL and at the end of DATA', async () => {
    const s = await session();
    expect(await s.command('MAIL FROM:<a@elsewhere.test> SIZE=1000000')).toMatch(/^552 /);
    await s.command('RSET');
    await s.command('MAIL FROM:<a@elsewhere.test>');
    await s.command('RCPT TO:<demo@example.test>');
    await s.command('DATA');
    const big = `Subject: big\r\n\r\n${`${'z'.repeat(998)}\r\n`.repeat(80)}`;
    expect(await s.data(big)).toMatch(/^552 /);
    expect(await s.command('NOOP')).toMatch(/^250 /);
    s.close();
  });

  it('refuses paths over the RFC 5321 limits', async () => {
    const s = await session();
    expect(await s.command(`MAIL FROM:<${'l'.repeat(65)}@elsewhere.test>`)).toMatch(/^501 /);
    expect(await s.command('MAIL FROM:<a@elsewhere.test>')).toMatch(/^250 /);
    s.close();
  });

  it('keeps every byte of the message but bare LF line ends, and prepends one Received: header', async () => {
    const s = await session();
    await s.command('MAIL FROM:<a@elsewhere.test>');
    await s.command('RCPT TO:<demo@example.test>');
    await s.command('DATA');
    const body =
      'Subject: exact\r\nX-Odd:  two  spaces \r\n\r\n.leading dot\r\nbare\nlf and \xe9 8-bit\r\n\r\n';
    const reply = await s.data(body);
    const id = /queued as (\w+)/.exec(reply)![1]!;
    s.close();
    const stored = await eventually(async () => {
      const list = await mailroom.embedded.store.listMessages('demo@example.test', 'INBOX');
      return list.find((m) => m.blobKey.includes(id));
    });
    const raw = (await mailroom.embedded.blobs.getBuffer(stored.blobKey)).toString('latin1');
    const headerEnd = raw.indexOf('\r\nSubject: exact');
    expect(raw.slice(0, headerEnd)).toMatch(
      /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby [^\r\n]+ with ESMTP id \w+\r\n\tfor <demo@example\.test>; \w{3}, /,
    );
    // RFC 5322 §2.3: a bare LF is stored as CRLF, so sizes are what IMAP and POP3 send.
    expect(raw.slice(headerEnd + 2)).toBe(body.replace('bare\nlf', 'bare\r\nlf'));
  });

  it('survives garbage and NUL bytes without harming another session', async () => {
    const bad = await session();
    const good = await session();
    bad.write(Buffer.from([0, 1, 2, 255, 13, 10]));
    expect(await bad.reply()).toMatch(/^5\d\d /);
    expect(await good.command('NOOP')).toMatch(/^250 /);
    bad.close();
    good.close();
  });
});
