import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { startTestMailroom, eventually, type TestMailroom } from '../helpers/mailroom.js';

interface Captured {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server standing in for the smarthost: it keeps what it is given. */
async function startSink(): Promise<{ port: number; received: Captured[]; close(): Promise<void> }> {
  const received: Captured[] = [];
  const server = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('latin1'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('forwarding through the smarthost Outbound', () => {
  let mailroom: TestMailroom;
  let sink: Awaited<ReturnType<typeof startSink>>;
  beforeAll(async () => {
    sink = await startSink();
    mailroom = await startTestMailroom({ smarthost: `smtp://127.0.0.1:${sink.port}` });
    await mailroom.embedded.store.addAlias('team@example.test', [
      'demo@example.test',
      'partner@elsewhere.test',
    ]);
  });
  afterAll(async () => {
    await mailroom.cleanup();
    await sink.close();
  });

  it('delivers an alias to its local target and forwards the same bytes to its external one', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: mailroom.smtpPort,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: 'sender@far.test',
      to: 'team@example.test',
      subject: 'to the team',
      text: 'hello team',
    });

    const forwarded = await eventually(() => sink.received[0]);
    expect(forwarded.from).toBe('sender@far.test');
    expect(forwarded.to).toEqual(['partner@elsewhere.test']);
    expect(forwarded.raw).toMatch(/^Received: from /);
    expect(forwarded.raw).toContain('Subject: to the team');
    const local = await eventually(async () => {
      const inbox = await mailroom.embedded.store.listMessages('demo@example.test', 'INBOX');
      return inbox.length ? inbox : undefined;
    });
    const blob = await mailroom.embedded.blobs.getBuffer(local[0]!.blobKey);
    expect(forwarded.raw).toBe(blob.toString('latin1'));
  });
});
