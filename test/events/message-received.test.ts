import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../lib/mail/parse.js';
import type { MessageSummary } from '../../lib/mail/types.js';
import {
  MAX_EVENT_ATTACHMENTS,
  MAX_EVENT_DETAIL_BYTES,
  MAX_EVENT_TEXT_BYTES,
  messageReceivedEvent,
  messageReceivedEvents,
} from '../../lib/events/message-received.js';

const job = {
  id: 'q-123',
  blobKey: 'incoming/q-123.eml',
  mailFrom: 'sender@far.test',
  rcptTo: ['demo@example.test', 'team@example.test'],
  clientAddress: '192.0.2.1',
  helo: 'mx.far.test',
  tls: true,
  receivedAt: '2024-01-02T03:04:06.000Z',
};

const raw = Buffer.from(
  'From: =?utf-8?q?S=C3=A9verine?= <sender@far.test>\r\n' +
    'To: Demo <demo@example.test>, team@example.test\r\n' +
    'Cc: boss@far.test\r\n' +
    'Subject: =?utf-8?q?Quarterly_r=C3=A9sum=C3=A9?=\r\n' +
    'Date: Tue, 2 Jan 2024 04:04:05 +0100\r\n' +
    'Message-ID: <abc@far.test>\r\n' +
    'MIME-Version: 1.0\r\n' +
    'Content-Type: multipart/mixed; boundary="zz"\r\n' +
    '\r\n' +
    '--zz\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    '\r\n' +
    'see attached\r\n' +
    '--zz\r\n' +
    'Content-Type: application/pdf; name="q1.pdf"\r\n' +
    'Content-Disposition: attachment; filename="q1.pdf"\r\n' +
    'Content-Transfer-Encoding: base64\r\n' +
    '\r\n' +
    Buffer.alloc(300, 7).toString('base64') +
    '\r\n' +
    '--zz--\r\n',
);

function summary(overrides: Partial<MessageSummary> = {}): MessageSummary {
  return {
    subject: 's',
    from: 'a@far.test',
    to: 'b@example.test',
    cc: '',
    date: null,
    messageId: null,
    attachments: [],
    ...overrides,
  };
}

describe('messageReceivedEvent', () => {
  it('builds the event from what ingest has for one delivery', async () => {
    const parsed = await parseMessage(raw);

    const event = messageReceivedEvent({
      job,
      summary: parsed.summary,
      size: raw.length,
      delivery: { account: 'demo@example.test', folder: 'INBOX', uid: 42 },
      bucket: 'mailroom-raw',
    });

    expect(event).toEqual({
      id: 'q-123:demo@example.test:INBOX',
      account: 'demo@example.test',
      mailbox: 'INBOX',
      uid: 42,
      mailFrom: 'sender@far.test',
      from: 'Séverine <sender@far.test>',
      to: 'Demo <demo@example.test>, team@example.test',
      cc: 'boss@far.test',
      subject: 'Quarterly résumé',
      date: '2024-01-02T03:04:05.000Z',
      messageId: '<abc@far.test>',
      attachments: [{ filename: 'q1.pdf', contentType: 'application/pdf', size: 300 }],
      attachmentCount: 1,
      size: raw.length,
      receivedAt: '2024-01-02T03:04:06.000Z',
      raw: { key: 'incoming/q-123.eml', bucket: 'mailroom-raw' },
    });
    expect('authentication' in event).toBe(false);
  });

  it('leaves the bucket out on the embedded BlobStore and carries verdicts when given', () => {
    const event = messageReceivedEvent({
      job,
      summary: summary(),
      size: 10,
      delivery: { account: 'demo@example.test', folder: 'Lists', uid: 1 },
      authentication: { spf: 'pass', dkim: 'none', dmarc: 'fail' },
    });

    expect(event.raw).toEqual({ key: 'incoming/q-123.eml' });
    expect(event.authentication).toEqual({ spf: 'pass', dkim: 'none', dmarc: 'fail' });
    expect(event.id).toBe('q-123:demo@example.test:Lists');
  });

  it('keeps at most MAX_EVENT_ATTACHMENTS attachments, and says how many there were', () => {
    const attachments = Array.from({ length: 150 }, (_, i) => ({
      filename: `f${i}.txt`,
      contentType: 'text/csv',
      size: i,
      part: String(i + 2),
    }));

    const event = messageReceivedEvent({
      job,
      summary: summary({ attachments }),
      size: 1,
      delivery: { account: 'demo@example.test', folder: 'INBOX', uid: 1 },
    });

    expect(event.attachments).toHaveLength(MAX_EVENT_ATTACHMENTS);
    expect(event.attachments[0]).toEqual({ filename: 'f0.txt', contentType: 'text/csv', size: 0 });
    expect(event.attachmentCount).toBe(150);
  });

  it('bounds hostile headers so the event always fits one EventBridge entry', () => {
    const huge = summary({
      // control characters take 6 bytes each in JSON ("\u0001")
      subject: '\u0001'.repeat(100_000),
      from: 'é'.repeat(100_000),
      cc: '\u0001'.repeat(100_000),
      to: Array.from({ length: 10_000 }, (_, i) => `user${i}@example.test`).join(', '),
      attachments: Array.from({ length: 1000 }, (_, i) => ({
        filename: `${'\u0001'.repeat(300)}${i}.bin`,
        contentType: 'application/octet-stream',
        size: i,
        part: String(i + 2),
      })),
    });

    const event = messageReceivedEvent({
      job,
      summary: huge,
      size: 1,
      delivery: { account: 'demo@example.test', folder: 'INBOX', uid: 1 },
    });

    expect(Buffer.byteLength(event.subject)).toBeLessThanOrEqual(MAX_EVENT_TEXT_BYTES);
    expect(Buffer.byteLength(event.to)).toBeLessThanOrEqual(MAX_EVENT_TEXT_BYTES);
    expect(event.from).toMatch(/^é+$/);
    // too big even when cut: rebuilt without the attachment list
    expect(event.attachments).toEqual([]);
    expect(event.attachmentCount).toBe(1000);
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_EVENT_DETAIL_BYTES);
  });
});

describe('messageReceivedEvents', () => {
  it('gives one event per mailbox, even when two recipients led to it', () => {
    const events = messageReceivedEvents({
      job,
      summary: summary(),
      size: 10,
      deliveries: [
        { account: 'demo@example.test', folder: 'INBOX', uid: 7 },
        // team@ is an alias of demo@ and other@: demo's INBOX already has the message
        { account: 'demo@example.test', folder: 'INBOX', uid: 7 },
        { account: 'other@example.test', folder: 'INBOX', uid: 3 },
      ],
    });

    expect(events.map((e) => [e.id, e.uid])).toEqual([
      ['q-123:demo@example.test:INBOX', 7],
      ['q-123:other@example.test:INBOX', 3],
    ]);
  });

  it('gives the same ids when the job runs again', () => {
    const input = {
      job,
      summary: summary(),
      size: 10,
      deliveries: [{ account: 'demo@example.test', folder: 'INBOX', uid: 7 }],
    };
    expect(messageReceivedEvents(input)).toEqual(messageReceivedEvents(input));
  });
});
