import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeEvents, MAX_BYTES_PER_CALL, entrySize } from '../../lib/events/eventbridge.js';
import { EventsError, EventTooLargeError } from '../../lib/events/errors.js';
import type { MessageReceivedEvent } from '../../lib/events/types.js';
import { startFakeEventBridge } from '../helpers/fake-eventbridge.js';

function eventBridgeClient(endpoint: string) {
  return new EventBridgeClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

function makeEvent(n: number, overrides: Partial<MessageReceivedEvent> = {}): MessageReceivedEvent {
  return {
    id: `job-${n}:demo@example.test:INBOX`,
    account: 'demo@example.test',
    mailbox: 'INBOX',
    uid: n,
    mailFrom: 'sender@far.test',
    from: 'Sender <sender@far.test>',
    to: 'demo@example.test',
    cc: '',
    subject: `message ${n} – ünïcödé`,
    date: '2024-01-02T03:04:05.000Z',
    messageId: `<m${n}@far.test>`,
    attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', size: 1234 }],
    attachmentCount: 1,
    size: 4096,
    receivedAt: '2024-01-02T03:04:06.000Z',
    raw: { key: `incoming/job-${n}.eml`, bucket: 'mailroom-raw' },
    ...overrides,
  };
}

describe('EventBridgeEvents', () => {
  let fake: Awaited<ReturnType<typeof startFakeEventBridge>>;
  let client: EventBridgeClient;
  let events: EventBridgeEvents;

  beforeAll(async () => {
    fake = await startFakeEventBridge();
    client = eventBridgeClient(fake.endpoint);
    events = new EventBridgeEvents({ client, eventBusName: 'mail-bus', backoffMs: 1 });
  });
  beforeEach(() => {
    fake.calls.length = 0;
    fake.failOnce.clear();
    fake.failAlways.clear();
  });
  afterAll(async () => {
    client.destroy();
    await fake.close();
  });

  it('sends 25 events in 3 PutEvents calls of at most 10 entries', async () => {
    const sent = Array.from({ length: 25 }, (_, i) => makeEvent(i + 1));

    await events.publish(sent);

    expect(fake.calls.map((c) => c.entries.length)).toEqual([10, 10, 5]);
    expect(fake.calls.every((c) => c.target === 'AWSEvents.PutEvents')).toBe(true);
    expect(fake.calls[0]!.contentType).toBe('application/x-amz-json-1.1');
    const entries = fake.calls.flatMap((c) => c.entries);
    expect(entries.map((e) => (JSON.parse(e.Detail) as MessageReceivedEvent).id)).toEqual(
      sent.map((e) => e.id),
    );
  });

  it('puts the event as the detail, with source, detail-type, bus and time', async () => {
    const event = makeEvent(1, { authentication: { spf: 'pass', dkim: 'fail' } });

    await events.publish([event]);

    const [entry] = fake.calls[0]!.entries;
    expect(entry!.Source).toBe('mailroom');
    expect(entry!.DetailType).toBe('mailroom.message.received');
    expect(entry!.EventBusName).toBe('mail-bus');
    expect(entry!.Time).toBe(Date.parse(event.receivedAt) / 1000);
    expect(JSON.parse(entry!.Detail)).toEqual({
      id: 'job-1:demo@example.test:INBOX',
      account: 'demo@example.test',
      mailbox: 'INBOX',
      uid: 1,
      mailFrom: 'sender@far.test',
      from: 'Sender <sender@far.test>',
      to: 'demo@example.test',
      cc: '',
      subject: 'message 1 – ünïcödé',
      date: '2024-01-02T03:04:05.000Z',
      messageId: '<m1@far.test>',
      attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', size: 1234 }],
      attachmentCount: 1,
      authentication: { spf: 'pass', dkim: 'fail' },
      size: 4096,
      receivedAt: '2024-01-02T03:04:06.000Z',
      raw: { key: 'incoming/job-1.eml', bucket: 'mailroom-raw' },
    });
  });

  it('starts a new call before a batch would pass 256 KB', async () => {
    // Each entry is a little over 100 KB: two fit in one call, three do not.
    const sent = Array.from({ length: 5 }, (_, i) => makeEvent(i + 1, { to: 'x'.repeat(100 * 1024) }));

    await events.publish(sent);

    expect(fake.calls.map((c) => c.entries.length)).toEqual([2, 2, 1]);
    for (const call of fake.calls) {
      const bytes = call.entries.reduce(
        (sum, e) =>
          sum + entrySize({ ...e, Time: e.Time === undefined ? undefined : new Date(e.Time * 1000) }),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
    }
  });

  it('refuses an event that no call could carry, before sending anything', async () => {
    const sent = [makeEvent(1), makeEvent(2, { to: 'x'.repeat(MAX_BYTES_PER_CALL) })];

    const error = await events.publish(sent).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EventTooLargeError);
    expect(fake.calls).toHaveLength(0);
  });

  it('sends again only the entries that PutEvents reported failed', async () => {
    const sent = Array.from({ length: 12 }, (_, i) => makeEvent(i + 1));
    fake.failOnce.set(sent[1]!.id, 'ThrottlingException');
    fake.failOnce.set(sent[11]!.id, 'InternalFailure');

    await events.publish(sent);

    const ids = fake.calls.map((c) =>
      c.entries.map((e) => (JSON.parse(e.Detail) as MessageReceivedEvent).id),
    );
    expect(ids).toEqual([
      sent.slice(0, 10).map((e) => e.id),
      [sent[1]!.id],
      [sent[10]!.id, sent[11]!.id],
      [sent[11]!.id],
    ]);
  });

  it('throws, naming the event, when an entry keeps failing', async () => {
    const sent = [makeEvent(1), makeEvent(2), makeEvent(3)];
    fake.failAlways.set(sent[1]!.id, 'InternalFailure');

    const error = await events.publish(sent).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EventsError);
    expect((error as EventsError).failed).toEqual([
      { id: sent[1]!.id, errorCode: 'InternalFailure', errorMessage: `InternalFailure for ${sent[1]!.id}` },
    ]);
    // the default 3 attempts: all three entries once, then the failing one twice more
    expect(fake.calls.map((c) => c.entries.length)).toEqual([3, 1, 1]);
  });

  it('publishes nothing for no events', async () => {
    await events.publish([]);
    expect(fake.calls).toHaveLength(0);
  });

  it('throws an EventsError when the endpoint does not answer', async () => {
    // a port that was just free: nothing listens there
    const idle = createServer();
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    const { port } = idle.address() as AddressInfo;
    await new Promise((resolve) => idle.close(resolve));
    const dead = eventBridgeClient(`http://127.0.0.1:${port}`);
    const error = await new EventBridgeEvents({ client: dead })
      .publish([makeEvent(1)])
      .catch((e: unknown) => e);
    dead.destroy();

    expect(error).toBeInstanceOf(EventsError);
    expect((error as EventsError).failed).toEqual([{ id: makeEvent(1).id }]);
    expect((error as Error).cause).toBeDefined();
  });
});
