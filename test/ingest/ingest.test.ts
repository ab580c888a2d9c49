import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { loadConfig } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import { openEmbedded, type Backend } from '../../lib/app/mailroom.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { LocalRunner } from '../../lib/runner/local-runner.js';
import type { IngestJob } from '../../lib/ingest/types.js';
import type { Events, MessageReceivedEvent } from '../../lib/events/types.js';
import type { SqsEvent } from '../../lib/queue/sqs-event.js';
import { hashPassword } from '../../lib/auth/password.js';
import { tempDir } from '../helpers/mailroom.js';
import { runCli } from '../helpers/dev-process.js';

const RAW = Buffer.from('From: a@elsewhere.test\r\nTo: demo@example.test\r\nSubject: once\r\n\r\nbody\r\n');

function job(id: string, rcptTo = ['demo@example.test']): IngestJob {
  return {
    id,
    blobKey: `raw/test/${id}.eml`,
    mailFrom: 'a@elsewhere.test',
    rcptTo,
    clientAddress: '127.0.0.1',
    helo: 'client.test',
    tls: false,
    receivedAt: new Date().toISOString(),
  };
}

function event(j: IngestJob, messageId = `m-${j.id}`): SqsEvent {
  return {
    Records: [
      {
        messageId,
        receiptHandle: 'r',
        body: JSON.stringify(j),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
        messageAttributes: {},
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:0:q',
        awsRegion: 'local',
      },
    ],
  };
}

describe('ingest', () => {
  let dataDir: string;
  let data: Backend;
  beforeEach(async () => {
    dataDir = await tempDir();
    data = openEmbedded(loadConfig({ dataDir, maxReceiveCount: 2 }, {}));
    await data.store.addDomain('example.test');
    await data.store.addAccount('demo@example.test', await hashPassword('demo-password'));
    await data.store.addAlias('team@example.test', ['demo@example.test', 'friend@elsewhere.test']);
  });
  afterEach(async () => {
    await data.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores a job delivered twice only once', async () => {
    const handler = createIngestHandler({ ...data, logger: silentLogger });
    const j = job('dup1', ['demo@example.test', 'team@example.test']);
    await data.blobs.put(j.blobKey, RAW);

    const first = await handler(event(j), {} as never);
    const second = await handler(event(j, 'another-receive'), {} as never);

    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    const inbox = await data.store.listMessages('demo@example.test', 'INBOX');
    expect(inbox.map((m) => m.summary.subject)).toEqual(['once']);
  });

  it('publishes one mailroom.message.received event per mailbox delivered to, with where the raw message is', async () => {
    const published: MessageReceivedEvent[][] = [];
    const events: Events = { publish: async (batch) => void published.push(batch) };
    const handler = createIngestHandler({ ...data, logger: silentLogger, events, rawBucket: 'raw-bucket' });
    const j = job('ev1', ['demo@example.test', 'team@example.test']);
    await data.blobs.put(j.blobKey, RAW);

    expect(await handler(event(j), {} as never)).toEqual({ batchItemFailures: [] });

    // Two recipients, one INBOX: one event.
    expect(published).toHaveLength(1);
    const [only] = published[0]!;
    const [stored] = await data.store.listMessages('demo@example.test', 'INBOX');
    expect(only).toMatchObject({
      account: 'demo@example.test',
      mailbox: 'INBOX',
      uid: stored!.uid,
      subject: 'once',
      raw: { key: j.blobKey, bucket: 'raw-bucket' },
    });

    // A failed publish fails the record, so the queue tries again (idempotent delivery, same event id).
    const failing = createIngestHandler({
      ...data,
      logger: silentLogger,
      events: { publish: () => Promise.reject(new Error('bus down')) },
    });
    expect(await failing(event(j, 'again'), {} as never)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'again' }],
    });
  });

  it('reports a bad record in batchItemFailures without failing its batch-mates', async () => {
    const handler = createIngestHandler({ ...data, logger: silentLogger });
    const good = job('good');
    await data.blobs.put(good.blobKey, RAW);
    const batch = event(good);
    batch.Records.push({ ...event(job('no-blob')).Records[0]!, messageId: 'bad' });

    const response = await handler(batch, {} as never);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(await data.store.listMessages('demo@example.test', 'INBOX')).toHaveLength(1);
  });

  it('dead-letters a job whose blob is missing, with its reason, and `mailroom queue redrive` runs it again', async () => {
    const runner = new LocalRunner(
      data.queue,
      createIngestHandler({ ...data, logger: silentLogger }),
      silentLogger,
      {
        retryBaseSeconds: 0,
      },
    );
    const j = job('lost');
    await data.queue.send(j);

    await runner.drain();
    await runner.drain();
    await runner.drain();

    const dead = await data.queue.listDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.body.id).toBe('lost');
    expect(dead[0]!.lastError).toMatch(/BlobNotFound|no blob/);

    const status = await runCli(['--data-dir', dataDir, '--json', 'queue', 'status']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ dead: 1, deadLetters: [{ job: 'lost' }] });

    await data.blobs.put(j.blobKey, RAW);
    const redrive = await runCli(['--data-dir', dataDir, '--json', 'queue', 'redrive']);
    expect(JSON.parse(redrive.stdout)).toEqual({ redriven: 1 });
    await runner.drain();

    expect((await data.queue.stats()).dead).toBe(0);
    expect(await data.store.listMessages('demo@example.test', 'INBOX')).toHaveLength(1);
  });
});
