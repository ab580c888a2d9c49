import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { openBackend } from '../../lib/app/backend.js';
import { startIngress, type Backend, type RunningIngress } from '../../lib/app/mailroom.js';
import { LocalRunner } from '../../lib/runner/local-runner.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { hashPassword } from '../../lib/auth/password.js';
import { silentLogger } from '../../lib/log.js';
import type { IngestJob } from '../../lib/ingest/types.js';
import { createAwsStack, type AwsStack } from '../helpers/aws-backend.js';
import { startCliProcess } from '../helpers/dev-process.js';
import { eventually, tempDir } from '../helpers/mailroom.js';
import { DEMO, plainMessage } from '../helpers/imap-fixtures.js';

/*
 * The cloud pipeline end to end on the emulators: SMTP ingress on the aws backend writes
 * the raw message to S3 and the job to SQS before its 250; a poller (`mailroom ingest`, a
 * separate process playing Lambda's event source) runs the real Lambda handler on
 * SQS-shaped batches; DynamoDB holds the mailboxes.
 */

const MESSAGES = 500;

describe('the pipeline on the aws backend (S3, SQS, DynamoDB on emulators)', () => {
  let stack: AwsStack;
  let backend: Backend;
  let ingress: RunningIngress;

  beforeAll(async () => {
    stack = await createAwsStack({ maxReceiveCount: 2, visibilityTimeoutSeconds: 3 });
    backend = await openBackend(stack.config);
    await backend.store.addDomain('example.test');
    await backend.store.addAccount(DEMO, await hashPassword('demo-password'));
    ingress = await startIngress(backend, stack.config, silentLogger, undefined);
  });

  afterAll(async () => {
    await ingress?.close();
    await backend?.close();
    await stack?.cleanup();
  });

  it(`stores ${MESSAGES} messages exactly once, though the poller is killed mid-batch`, async () => {
    const dataDir = await tempDir();
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: ingress.smtpPort,
      pool: true,
      maxConnections: 10,
      maxMessages: Infinity,
      ignoreTLS: true,
    });
    const ids: string[] = [];
    const sending = Promise.all(
      Array.from({ length: MESSAGES }, (_, i) => {
        const tag = `aws-${i}-${Date.now().toString(36)}`;
        ids.push(`<${tag}@sender.test>`);
        return transport.sendMail({
          envelope: { from: 'sender@sender.test', to: [DEMO] },
          raw: plainMessage(tag),
        });
      }),
    );

    const first = await startCliProcess(['--data-dir', dataDir, 'ingest'], {
      ...stack.env,
      MAILROOM_LOG_LEVEL: 'warn',
    });
    // Kill the first poller once it is well into the work: whatever batch it holds is in flight.
    await eventually(
      async () => ((await backend.store.getMailbox(DEMO, 'INBOX'))!.messages >= 100 ? true : undefined),
      60_000,
    );
    first.child.kill('SIGKILL');
    // Not all of them yet: the kill lands while the poller has work in hand.
    expect((await backend.store.getMailbox(DEMO, 'INBOX'))!.messages).toBeLessThan(MESSAGES);
    await first.exited;
    const second = await startCliProcess(['--data-dir', dataDir, 'ingest'], {
      ...stack.env,
      MAILROOM_LOG_LEVEL: 'warn',
    });
    try {
      await sending;
      transport.close();
      await eventually(
        async () =>
          (await backend.store.getMailbox(DEMO, 'INBOX'))!.messages >= MESSAGES ? true : undefined,
        120_000,
      );
      // Give a redelivered job the chance to show up twice, if it were going to.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const stored = await backend.store.listMessages(DEMO, 'INBOX');
      const storedIds = stored.map((m) => m.summary.messageId);
      expect(storedIds).toHaveLength(MESSAGES);
      expect(new Set(storedIds)).toEqual(new Set(ids));
      expect((await backend.store.getMailbox(DEMO, 'INBOX'))!.messages).toBe(MESSAGES);
      // Every message body is in S3 and reads back as the message that was sent.
      const sample = stored[MESSAGES - 1]!;
      const raw = (await backend.blobs.getBuffer(sample.blobKey)).toString('latin1');
      expect(raw).toContain(`Message-ID: ${sample.summary.messageId}`);
      expect(await backend.queue.stats()).toMatchObject({ visible: 0, inFlight: 0, dead: 0 });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 240_000);

  it('dead-letters a poison job with its reason, and redrive delivers it once its blob exists', async () => {
    const handler = createIngestHandler({ ...backend, logger: silentLogger });
    const runner = new LocalRunner<IngestJob>(backend.queue, handler, silentLogger, {
      visibilityTimeoutSeconds: 1,
      retryBaseSeconds: 0,
      idlePollMs: 100,
    });
    const job: IngestJob = {
      id: `poison-${Date.now()}`,
      blobKey: `raw/missing/poison-${Date.now()}.eml`,
      mailFrom: 'sender@sender.test',
      rcptTo: [DEMO],
      clientAddress: '127.0.0.1',
      helo: 'client.test',
      tls: false,
      receivedAt: new Date().toISOString(),
    };
    const id = await backend.queue.send(job);
    runner.start();
    try {
      const dead = await eventually(async () => {
        const letters = await backend.queue.listDeadLetters();
        return letters.find((l) => l.id === id);
      }, 30_000);
      expect(dead.lastError).toMatch(/not found|NoSuchKey|missing/i);
      expect(dead.body.blobKey).toBe(job.blobKey);

      const tag = `redriven-${Date.now().toString(36)}`;
      await backend.blobs.put(job.blobKey, plainMessage(tag));
      expect(await backend.queue.redrive([id])).toBe(1);
      const delivered = await eventually(async () => {
        const all = await backend.store.listMessages(DEMO, 'INBOX');
        return all.find((m) => m.summary.messageId === `<${tag}@sender.test>`);
      }, 30_000);
      expect(delivered.blobKey).toBe(job.blobKey);
      expect((await backend.queue.stats()).dead).toBe(0);
    } finally {
      await runner.stop();
    }
  });
});
