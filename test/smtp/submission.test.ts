import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestMailroom, eventually, DEMO_PASSWORD, type TestMailroom } from '../helpers/mailroom.js';
import { SmtpSession } from '../helpers/smtp-session.js';

describe('submission (AUTH required, send as your own addresses)', () => {
  let mailroom: TestMailroom;
  beforeAll(async () => {
    mailroom = await startTestMailroom();
    await mailroom.embedded.store.addAlias('sales@example.test', ['demo@example.test']);
  });
  afterAll(async () => {
    await mailroom.cleanup();
  });

  function transport(user = 'demo@example.test', pass = DEMO_PASSWORD) {
    return nodemailer.createTransport({
      host: '127.0.0.1',
      port: mailroom.submissionPort,
      secure: false,
      ignoreTLS: true,
      auth: { user, pass },
    });
  }

  it('refuses to relay without AUTH on submission', async () => {
    const s = await SmtpSession.open(mailroom.submissionPort);
    await s.reply();
    await s.command('EHLO client.test');
    expect(await s.command('MAIL FROM:<demo@example.test>')).toMatch(/^530 /);
    s.close();
  });

  it('refuses a wrong password with 535', async () => {
    await expect(
      transport('demo@example.test', 'wrong').sendMail({
        from: 'demo@example.test',
        to: 'x@elsewhere.test',
        text: 'x',
      }),
    ).rejects.toMatchObject({ responseCode: 535 });
  });

  it('sends to another domain through Outbound when From is owned', async () => {
    const info = await transport().sendMail({
      from: 'Demo <demo@example.test>',
      to: 'friend@elsewhere.test',
      subject: 'out',
      text: 'leaving',
    });
    expect(info.accepted).toEqual(['friend@elsewhere.test']);
    const outbox = join(mailroom.config.dataDir, 'blobs', 'outbox');
    const envelopeFile = await eventually(async () => {
      const files = await readdir(outbox).catch(() => []);
      return files.find((f) => f.endsWith('.json'));
    });
    const envelope = JSON.parse(await readFile(join(outbox, envelopeFile), 'utf8'));
    expect(envelope).toEqual({ from: 'demo@example.test', to: ['friend@elsewhere.test'] });
    const raw = await readFile(join(outbox, envelopeFile.replace(/\.json$/, '.eml')), 'latin1');
    expect(raw).toMatch(/^Received: [^\r]*\r\n\tby [^\r]* with ESMTPA /);
    expect(raw).toContain('leaving');
  });

  it('delivers to a local recipient through the same pipeline', async () => {
    await transport().sendMail({
      from: 'sales@example.test',
      to: 'demo@example.test',
      subject: 'local via submission',
      text: 'x',
    });
    const found = await eventually(async () =>
      (await mailroom.embedded.store.listMessages('demo@example.test', 'INBOX')).find(
        (m) => m.summary.subject === 'local via submission',
      ),
    );
    expect(found.summary.from).toContain('sales@example.test');
  });

  it('refuses a From the account does not own, in the envelope and in the header', async () => {
    await expect(
      transport().sendMail({ from: 'boss@example.test', to: 'friend@elsewhere.test', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 550 });
    await expect(
      transport().sendMail({
        envelope: { from: 'demo@example.test', to: ['friend@elsewhere.test'] },
        from: 'ceo@bank.example',
        to: 'friend@elsewhere.test',
        text: 'x',
      }),
    ).rejects.toMatchObject({ responseCode: 550 });
  });
});
