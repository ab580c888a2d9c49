import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { connect as tlsConnect } from 'node:tls';
import { ensureSelfSignedCertificate } from '../../lib/tls/certificate.js';
import {
  startTestMailroom,
  eventually,
  tempDir,
  DEMO_PASSWORD,
  type TestMailroom,
} from '../helpers/mailroom.js';
import { SmtpSession } from '../helpers/smtp-session.js';

describe('TLS: STARTTLS, implicit TLS, and AUTH only over TLS off dev loopback', () => {
  let mailroom: TestMailroom;
  beforeAll(async () => {
    const tls = await ensureSelfSignedCertificate(await tempDir(), 'mx.example.test');
    expect(tls).toBeDefined();
    mailroom = await startTestMailroom({ allowInsecureAuth: false, submissionTlsPort: 0 }, { tls: tls! });
  });
  afterAll(async () => {
    await mailroom.cleanup();
  });

  it('offers STARTTLS and refuses AUTH before it', async () => {
    const s = await SmtpSession.open(mailroom.submissionPort);
    await s.reply();
    const ehlo = await s.command('EHLO client.test');
    expect(ehlo).toContain('STARTTLS');
    const plain = Buffer.from(`\0demo@example.test\0${DEMO_PASSWORD}`).toString('base64');
    expect(await s.command(`AUTH PLAIN ${plain}`)).toMatch(/^5\d\d /);
    s.close();
  });

  it('sends with AUTH after STARTTLS', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: mailroom.submissionPort,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'demo@example.test', pass: DEMO_PASSWORD },
    });
    await transport.sendMail({
      from: 'demo@example.test',
      to: 'demo@example.test',
      subject: 'over starttls',
      text: 'x',
    });
    const stored = await eventually(async () =>
      (await mailroom.embedded.store.listMessages('demo@example.test', 'INBOX')).find(
        (m) => m.summary.subject === 'over starttls',
      ),
    );
    const raw = (await mailroom.embedded.blobs.getBuffer(stored.blobKey)).toString('latin1');
    expect(raw).toMatch(/with ESMTPSA id/);
  });

  it('serves submission with implicit TLS and the configured certificate', async () => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: mailroom.submissionTlsPort!,
      rejectUnauthorized: false,
    });
    const cn = await new Promise<string>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(String(socket.getPeerCertificate().subject.CN)));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(cn).toBe('mx.example.test');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: mailroom.submissionTlsPort!,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'demo@example.test', pass: DEMO_PASSWORD },
    });
    const info = await transport.sendMail({
      from: 'demo@example.test',
      to: 'demo@example.test',
      subject: 'implicit',
      text: 'x',
    });
    expect(info.response).toMatch(/^250 /);
  });

  it('offers STARTTLS on the MX listener too (opportunistic TLS between servers)', async () => {
    const s = await SmtpSession.open(mailroom.smtpPort);
    await s.reply();
    expect(await s.command('EHLO client.test')).toContain('STARTTLS');
    s.close();
  });
});
