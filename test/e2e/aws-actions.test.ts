import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../lib/app/backend.js';
import type { Backend } from '../../lib/app/mailroom.js';
import { loadConfig } from '../../lib/config.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { hashPassword } from '../../lib/auth/password.js';
import { silentLogger } from '../../lib/log.js';
import type { IngestJob } from '../../lib/ingest/types.js';
import type { MessageReceivedEvent } from '../../lib/events/types.js';
import { createAwsStack, type AwsStack } from '../helpers/aws-backend.js';
import { startFakeEventBridge } from '../helpers/fake-eventbridge.js';
import { DEMO, plainMessage, uniqueTag } from '../helpers/imap-fixtures.js';
import { eventually } from '../helpers/mailroom.js';
import { emulators } from '../helpers/aws.js';
import { ingestJob, sqsEvent } from '../helpers/sqs.js';

/*
 * Routing actions on the aws backend, through the Lambda handler: a forward leaves through
 * SES (aws-ses-v2-local), every delivery is announced on EventBridge (an endpoint that
 * records PutEvents calls).
 */

describe('forward and event actions on the aws backend', () => {
  let stack: AwsStack;
  let backend: Backend;
  let bus: Awaited<ReturnType<typeof startFakeEventBridge>>;
  let ingest: (raw: Buffer, rcptTo: string[]) => Promise<IngestJob>;

  beforeAll(async () => {
    stack = await createAwsStack();
    bus = await startFakeEventBridge();
    const config = loadConfig(
      { dataDir: stack.config.dataDir, logLevel: 'silent' },
      { ...stack.env, MAILROOM_EVENT_BUS: 'mailroom-test', MAILROOM_EVENTBRIDGE_ENDPOINT: bus.endpoint },
    );
    backend = await openBackend(config);
    await backend.store.addDomain('example.test');
    await backend.store.addAccount(DEMO, await hashPassword('demo-password'));
    await backend.store.addRoute('ben@example.test', { type: 'forward', to: ['ben@elsewhere.test'] });
    const handler = createIngestHandler({ ...backend, logger: silentLogger });
    ingest = async (raw, rcptTo) => {
      const id = uniqueTag('act');
      const job = ingestJob(id, rcptTo);
      await backend.blobs.put(job.blobKey, raw);
      const event = sqsEvent([job]);
      expect(await handler(event, {} as never)).toEqual({ batchItemFailures: [] });
      return job;
    };
  });

  afterAll(async () => {
    await backend?.close();
    await bus?.close();
    await stack?.cleanup();
  });

  it('announces a delivery on EventBridge with the summary and where the raw message is in S3', async () => {
    const tag = uniqueTag('event');
    const job = await ingest(plainMessage(tag), [DEMO]);
    const [stored] = (await backend.store.listMessages(DEMO, 'INBOX')).filter(
      (m) => m.summary.messageId === `<${tag}@sender.test>`,
    );
    const entries = bus.calls.flatMap((c) => c.entries);
    const mine = entries.filter(
      (e) => (JSON.parse(e.Detail) as MessageReceivedEvent).messageId === `<${tag}@sender.test>`,
    );
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      Source: 'mailroom',
      DetailType: 'mailroom.message.received',
      EventBusName: 'mailroom-test',
    });
    expect(JSON.parse(mine[0]!.Detail)).toMatchObject({
      account: DEMO,
      mailbox: 'INBOX',
      uid: stored!.uid,
      subject: `Subject ${tag}`,
      raw: { key: job.blobKey, bucket: stack.env.MAILROOM_BUCKET },
    });
    // The raw message really is there.
    expect((await backend.blobs.getBuffer(job.blobKey)).toString()).toContain(`Subject ${tag}`);
  });

  it('forwards through SES, and announces nothing for a message that was not delivered', async () => {
    const tag = uniqueTag('forward');
    const before = bus.calls.length;
    await ingest(plainMessage(tag), ['ben@example.test']);
    const sent = await eventually(async () => {
      const all = await fetch(`${emulators().ses}/store`).then(
        (r) => r.json() as Promise<{ emails: { subject: string; from: string }[] }>,
      );
      return all.emails.find((e) => e.subject === `Subject ${tag}`);
    });
    expect(sent).toBeDefined();
    // Sent as from the routed address (SES sends only from verified identities).
    expect(sent!.from).toContain('<ben@example.test>');
    expect(sent!.from).toContain('Sender via example.test');
    expect(bus.calls.length).toBe(before);
  });
});
