import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAws } from '../../lib/app/aws-backend.js';
import { startIngress, type Backend } from '../../lib/app/mailroom.js';
import { LocalRunner } from '../../lib/runner/local-runner.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { silentLogger } from '../../lib/log.js';
import type { Store } from '../../lib/store/types.js';
import { createAwsStack, type AwsStack } from '../helpers/aws-backend.js';
import { plainMessage } from '../helpers/imap-fixtures.js';
import { SmtpSession } from '../helpers/smtp-session.js';
import { ingestJob, sqsEvent } from '../helpers/sqs.js';

const DOMAIN = 'cache.test';
const ACCOUNT = `ann@${DOMAIN}`;
const DIRECTORY_READS = ['getDomain', 'getAccount', 'getAlias', 'routesFor'] as const;

/**
 * Counts the directory reads that reach the backend's own store. The cache openAws made
 * holds that very store object and looks each method up when it calls it, so wrapping the
 * methods on the instance sees every read that gets past the cache.
 */
function countDirectoryReads(store: Store): string[] {
  const reads: string[] = [];
  for (const method of DIRECTORY_READS) {
    const original = store[method].bind(store) as (key: string) => Promise<never>;
    (store as unknown as Record<string, unknown>)[method] = (key: string) => {
      reads.push(`${method} ${key}`);
      return original(key);
    };
  }
  return reads;
}

describe('directory cache on the aws backend (DynamoDB on an emulator)', () => {
  let stack: AwsStack;
  let backend: Backend | undefined;

  beforeAll(async () => {
    stack = await createAwsStack();
    const setup = openAws(stack.config);
    try {
      await setup.store.addDomain(DOMAIN);
      await setup.store.addAccount(ACCOUNT, 'not-a-real-hash');
    } finally {
      await setup.close();
    }
  });

  afterEach(async () => {
    await backend?.close();
    backend = undefined;
  });

  afterAll(async () => {
    await stack?.cleanup();
  });

  /** Ingests one job for ACCOUNT through the Lambda handler; returns the directory reads it made. */
  async function ingestOne(opened: Backend, reads: string[], id: string): Promise<string[]> {
    const job = ingestJob(`${id}-${Date.now().toString(36)}`, [ACCOUNT]);
    await opened.blobs.put(job.blobKey, plainMessage(job.id));
    const handler = createIngestHandler({ ...opened, logger: silentLogger });
    const before = reads.length;
    expect(await handler(sqsEvent([job]), {} as never)).toEqual({ batchItemFailures: [] });
    return reads.slice(before);
  }

  it('makes the directory reads of a recipient once for two ingests (30 s by default)', async () => {
    // Prepare
    expect(stack.config.directoryCacheSeconds).toBe(30);
    backend = openAws(stack.config);
    const reads = countDirectoryReads(backend.store);

    // Act
    const first = await ingestOne(backend, reads, 'cached-1');
    const second = await ingestOne(backend, reads, 'cached-2');

    // Assess
    expect(first).toEqual(expect.arrayContaining([`getDomain ${DOMAIN}`, `getAccount ${ACCOUNT}`]));
    expect(second).toEqual([]);
    const inbox = await backend.store.listMessages(ACCOUNT, 'INBOX');
    expect(inbox.map((m) => m.summary.messageId)).toEqual(
      expect.arrayContaining([expect.stringContaining('cached-1'), expect.stringContaining('cached-2')]),
    );
  });

  it('shares the cache between SMTP RCPT and ingest in one process, unknown recipients too', async () => {
    // Prepare
    backend = openAws(stack.config);
    const reads = countDirectoryReads(backend.store);
    const ingress = await startIngress(backend, stack.config, silentLogger, undefined);
    const session = await SmtpSession.open(ingress.smtpPort);
    const runner = new LocalRunner(
      backend.queue,
      createIngestHandler({ ...backend, logger: silentLogger }),
      silentLogger,
    );
    const tag = `smtp-${Date.now().toString(36)}`;

    try {
      // Act
      await session.reply();
      await session.command('EHLO client.test');
      const replies: string[] = [];
      for (let i = 0; i < 2; i++) {
        replies.push(await session.command('MAIL FROM:<sender@sender.test>'));
        replies.push(await session.command(`RCPT TO:<${ACCOUNT}>`));
        replies.push(await session.command(`RCPT TO:<nobody@${DOMAIN}>`));
        if (i === 0) replies.push(await session.command('RSET'));
      }
      const afterRcpt = [...reads];
      await session.command('DATA');
      const queued = await session.data(plainMessage(tag));
      const handled = await runner.runOnce();

      // Assess
      expect(replies.filter((r) => r.startsWith('550'))).toHaveLength(2);
      expect(queued).toMatch(/^250 /);
      expect(handled).toBe(1);
      expect(afterRcpt.length).toBeGreaterThan(0);
      expect(new Set(afterRcpt).size).toBe(afterRcpt.length);
      expect(afterRcpt).toEqual(
        expect.arrayContaining([`getAccount ${ACCOUNT}`, `getAccount nobody@${DOMAIN}`]),
      );
      expect(reads).toEqual(afterRcpt);
      const inbox = await backend.store.listMessages(ACCOUNT, 'INBOX');
      expect(inbox.map((m) => m.summary.messageId)).toContain(`<${tag}@sender.test>`);
    } finally {
      session.close();
      await ingress.close();
    }
  });

  it('reads the directory for every ingest with MAILROOM_DIRECTORY_CACHE_SECONDS=0', async () => {
    // Prepare
    backend = openAws({ ...stack.config, directoryCacheSeconds: 0 });
    const reads = countDirectoryReads(backend.store);

    // Act
    const first = await ingestOne(backend, reads, 'uncached-1');
    const second = await ingestOne(backend, reads, 'uncached-2');

    // Assess
    expect(backend.directory).toBeUndefined();
    expect(first.length).toBeGreaterThan(0);
    expect(second).toEqual(first);
  });
});
