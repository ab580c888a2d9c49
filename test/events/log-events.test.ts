import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../lib/log.js';
import { LogEvents } from '../../lib/events/log-events.js';
import { messageReceivedEvent } from '../../lib/events/message-received.js';

const event = messageReceivedEvent({
  job: { id: 'q-1', blobKey: 'incoming/q-1.eml', mailFrom: null, receivedAt: '2024-01-02T03:04:06.000Z' },
  summary: {
    subject: 's',
    from: 'a@far.test',
    to: 'b@example.test',
    cc: '',
    date: null,
    messageId: null,
    attachments: [],
  },
  size: 10,
  delivery: { account: 'demo@example.test', folder: 'INBOX', uid: 1 },
});

describe('LogEvents', () => {
  it('writes each event to the log at info', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const events = new LogEvents(createLogger({ destination, pretty: false }));

    await events.publish([event, { ...event, id: 'other' }]);

    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string; event: { id: string } });
    expect(records.map((r) => [r.level, r.msg, r.event.id])).toEqual([
      [30, 'mailroom.message.received', event.id],
      [30, 'mailroom.message.received', 'other'],
    ]);
  });

  it('does nothing without a logger', async () => {
    await expect(new LogEvents().publish([event])).resolves.toBeUndefined();
  });
});
