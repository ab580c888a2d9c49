import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { startTestMailroom, eventually, type TestMailroom } from '../helpers/mailroom.js';
import { SIGNATURE_HEADER, verifySignature, type MessageEvent } from '../../lib/events/webhook.js';

describe('webhook route', () => {
  let mailroom: TestMailroom;
  let server: Server;
  let port: number;
  const received: { body: string; signature: string; eventId: string }[] = [];
  let failuresLeft = 2;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // The first two attempts fail, so the sender must retry with backoff.
        if (failuresLeft-- > 0) {
          res.writeHead(503).end();
          return;
        }
        received.push({
          body,
          signature: String(req.headers[SIGNATURE_HEADER]),
          eventId: String(req.headers['x-mailroom-event-id']),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    mailroom = await startTestMailroom({}, { webhook: { backoffMs: 10, attempts: 3 } });
    await mailroom.embedded.store.addRoute('hooks@example.test', {
      type: 'webhook',
      url: `http://127.0.0.1:${port}/inbound`,
      secret: 'topsecret',
    });
  });
  afterAll(async () => {
    await mailroom.cleanup();
    await new Promise((resolve) => server.close(resolve));
  });

  it('POSTs the parsed message as HMAC-signed JSON, retrying failures', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: mailroom.smtpPort,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: 'x@elsewhere.test',
      to: 'hooks@example.test',
      subject: 'hook me',
      text: 'payload',
    });

    const hit = await eventually(() => received[0]);
    const event = JSON.parse(hit.body) as MessageEvent;
    expect(event).toMatchObject({
      type: 'message.received',
      recipient: 'hooks@example.test',
      subject: 'hook me',
    });
    expect(event.text).toContain('payload');
    expect(hit.eventId).toBe(event.id);
    expect(verifySignature('topsecret', hit.body, hit.signature)).toBe(true);
    expect(verifySignature('wrong', hit.body, hit.signature)).toBe(false);
    expect(failuresLeft).toBeLessThan(0);
  });
});
