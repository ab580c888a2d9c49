import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { bundleFunction } from '../../functions/bundle.js';
import { openBackend } from '../../lib/app/backend.js';
import type { Backend } from '../../lib/app/mailroom.js';
import { hashPassword } from '../../lib/auth/password.js';
import { createAwsStack, type AwsStack } from '../helpers/aws-backend.js';
import { DEMO, plainMessage, run, uniqueTag } from '../helpers/imap-fixtures.js';
import { tempDir } from '../helpers/mailroom.js';
import { ingestJob, sqsEvent } from '../helpers/sqs.js';

/*
 * The Lambda as it ships: functions/ingest.ts bundled by esbuild into one file, loaded by
 * plain Node (no tsx) in a process of its own, and invoked with an SQS event against the
 * emulators.
 */

describe('the ingest Lambda bundle', () => {
  let stack: AwsStack;
  let backend: Backend;
  let outdir: string;
  let file: string;

  beforeAll(async () => {
    outdir = await tempDir('mailroom-lambda-');
    ({ file } = await bundleFunction('ingest', outdir));
    stack = await createAwsStack();
    backend = await openBackend(stack.config);
    await backend.store.addDomain('example.test');
    await backend.store.addAccount(DEMO, await hashPassword('demo-password'));
  });

  afterAll(async () => {
    await backend?.close();
    await stack?.cleanup();
    await rm(outdir, { recursive: true, force: true });
  });

  it('is one file', async () => {
    expect(await readdir(outdir)).toEqual(['index.mjs']);
  });

  it('reads nothing at import, wires itself on the first invocation, and stores the message', async () => {
    const tag = uniqueTag('bundle');
    const blobKey = `raw/test/${tag}.eml`;
    await backend.blobs.put(blobKey, plainMessage(tag));
    const job = { ...ingestJob(tag, [DEMO]), blobKey };
    const event = sqsEvent([job], () => `m-${tag}`);
    // The environment arrives only after the import and a first, failed invocation: the
    // import itself must not read it, and a failed wiring must not be cached.
    const script = `
      const { handler } = await import(${JSON.stringify(file)});
      const out = {};
      try { await handler(EVENT, {}); out.first = 'ok'; } catch (err) { out.first = String(err.message); }
      Object.assign(process.env, ENV);
      out.second = await handler(EVENT, {});
      out.third = await handler(EVENT, {});
      console.log(JSON.stringify(out));
    `
      .replace(/EVENT/g, JSON.stringify(event))
      .replace('ENV', JSON.stringify({ ...stack.env, MAILROOM_LOG_LEVEL: 'silent' }));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MAILROOM_')));
    const result = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...env, MAILROOM_BACKEND: '' },
      cwd: outdir,
      timeoutMs: 60_000,
    });
    expect(result.stderr).not.toMatch(/Error/);
    const out = JSON.parse(result.stdout.toString().trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out.first).toMatch(/runs on the aws backend/);
    expect(out.second).toEqual({ batchItemFailures: [] });
    // A redelivered record stores nothing twice.
    expect(out.third).toEqual({ batchItemFailures: [] });
    const stored = (await backend.store.listMessages(DEMO, 'INBOX')).filter(
      (m) => m.summary.messageId === `<${tag}@sender.test>`,
    );
    expect(stored).toHaveLength(1);
  });
});
