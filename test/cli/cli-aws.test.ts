import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../lib/app/backend.js';
import type { Backend } from '../../lib/app/mailroom.js';
import { runCli } from '../helpers/dev-process.js';
import { createAwsStack, type AwsStack } from '../helpers/aws-backend.js';

/*
 * The same `mailroom` commands, pointed at the aws backend by the environment alone
 * (MAILROOM_BACKEND=aws and the stack's names), against DynamoDB, S3 and SQS on emulators.
 */

describe('mailroom CLI on the aws backend', () => {
  let stack: AwsStack;
  let backend: Backend;
  const cli = (args: string[], input?: string) => runCli(['--json', ...args], { input, env: stack.env });

  beforeAll(async () => {
    stack = await createAwsStack();
    backend = await openBackend(stack.config);
  });

  afterAll(async () => {
    await backend?.close();
    await stack?.cleanup();
  });

  it('manages domains, users, aliases and routes in DynamoDB', async () => {
    const domain = await cli(['domain', 'add', 'acme.test']);
    expect(domain.code).toBe(0);
    expect(JSON.parse(domain.stdout).dns.map((r: { type: string }) => r.type)).toContain('MX');
    expect(
      (await cli(['user', 'add', 'ann@acme.test', '--password-stdin'], 'correct horse battery\n')).code,
    ).toBe(0);
    expect((await cli(['alias', 'add', 'team@acme.test', 'ann@acme.test'])).code).toBe(0);
    const route = JSON.parse((await cli(['route', 'forward', 'ben@acme.test', 'ben@elsewhere.test'])).stdout);
    expect(route.action).toEqual({ type: 'forward', to: ['ben@elsewhere.test'] });

    // What the CLI wrote is what the servers will read.
    expect(await backend.store.getAccount('ann@acme.test')).toMatchObject({ domain: 'acme.test' });
    expect((await backend.store.getAlias('team@acme.test'))?.targets).toEqual(['ann@acme.test']);
    expect((await backend.store.routesFor('ben@acme.test')).map((r) => r.id)).toEqual([route.id]);
    const users = JSON.parse((await cli(['user', 'list', 'acme.test'])).stdout);
    expect(users.map((u: { address: string }) => u.address)).toEqual(['ann@acme.test']);
    const boxes = JSON.parse((await cli(['mailbox', 'list', 'ann@acme.test'])).stdout);
    expect(boxes.map((b: { name: string }) => b.name)).toEqual(
      expect.arrayContaining(['INBOX', 'Sent', 'Trash']),
    );
  });

  it('reads the SQS queue and its dead letters, and redrives them', async () => {
    const id = await backend.queue.send({
      id: 'cli-aws-job',
      blobKey: 'raw/missing.eml',
      mailFrom: 'a@b.test',
      rcptTo: ['ann@acme.test'],
      clientAddress: '127.0.0.1',
      helo: 'x',
      tls: false,
      receivedAt: new Date().toISOString(),
    });
    const status = JSON.parse((await cli(['queue', 'status'])).stdout);
    expect(status).toMatchObject({ visible: 1, dead: 0, deadLetters: [] });
    // Make it a dead letter the way SQS does: receive it maxReceiveCount times.
    for (let i = 0; i < 3; i++) {
      const [message] = await backend.queue.receive({ visibilityTimeoutSeconds: 0 });
      if (message) await backend.queue.recordFailure(message.id, 'Error: blob raw/missing.eml not found');
    }
    await backend.queue.receive({ visibilityTimeoutSeconds: 0 });
    const dead = JSON.parse((await cli(['queue', 'status'])).stdout);
    expect(dead).toMatchObject({ visible: 0, dead: 1 });
    expect(dead.deadLetters).toEqual([
      expect.objectContaining({ id, job: 'cli-aws-job', lastError: 'Error: blob raw/missing.eml not found' }),
    ]);
    const redriven = await cli(['queue', 'redrive']);
    expect(redriven.code).toBe(0);
    expect(JSON.parse(redriven.stdout)).toEqual({ redriven: 1 });
    expect(await backend.queue.stats()).toMatchObject({ visible: 1, dead: 0 });
  });

  it('names a missing setting of the aws backend with exit code 2', async () => {
    const result = await runCli(['domain', 'list'], {
      env: { ...stack.env, MAILROOM_QUEUE_URL: '', MAILROOM_DLQ_URL: '' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/queueUrl \(MAILROOM_QUEUE_URL\)/);
  });
});
