import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobQueue } from '../../lib/queue/index.js';
import { runJobQueueContract } from '../contract/job-queue.contract.js';
import type { Job } from '../contract/job-queue.contract.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUEUE_MODULE = fileURLToPath(new URL('../../lib/queue/sqlite/sqlite-job-queue.ts', import.meta.url));

async function makeDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mailroom-sqlite-queue-'));
}

runJobQueueContract('SqliteJobQueue', async (options) => {
  const dir = await makeDir();
  const queue = new SqliteJobQueue<Job>({ path: join(dir, 'queue.db'), ...options });
  return {
    queue,
    clock: 'injected',
    cleanup: async () => {
      queue.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/**
 * A separate Node process running SqliteJobQueue on the given file: a second process is
 * the only honest test of cross-process locking and of durability across a SIGKILL.
 * It resolves once the child has opened the queue; writing a line to its stdin runs `body`.
 */
async function startProcess(dir: string, dbPath: string, body: string) {
  const script = join(dir, `child-${randomUUID()}.ts`);
  await writeFile(
    script,
    `import { SqliteJobQueue } from ${JSON.stringify(QUEUE_MODULE)};
const queue = new SqliteJobQueue({ path: ${JSON.stringify(dbPath)}, visibilityTimeoutSeconds: 60 });
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  ${body}
});
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let output = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
    for (const listener of listeners) listener();
  });

  /** Resolves with the first match of pattern in the output, rejects if the child exits first. */
  function waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          listeners.delete(check);
          resolve(match);
        }
      };
      listeners.add(check);
      check();
      void exited.then(() => reject(new Error(`child exited without printing ${pattern}: ${output}`)));
    });
  }

  await waitFor(/^ready\n/);
  return { child, exited, waitFor, output: () => output.slice('ready\n'.length) };
}

describe('SqliteJobQueue', () => {
  let dir: string;
  let dbPath: string;
  const open: SqliteJobQueue<Job>[] = [];

  function openQueue(options: Partial<ConstructorParameters<typeof SqliteJobQueue>[0]> = {}) {
    const queue = new SqliteJobQueue<Job>({ path: dbPath, ...options });
    open.push(queue);
    return queue;
  }

  beforeEach(async () => {
    dir = await makeDir();
    dbPath = join(dir, 'queue.db');
  });

  afterEach(async () => {
    for (const queue of open.splice(0)) {
      try {
        queue.close();
      } catch {
        // already closed by the test
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('hands out messages oldest first', async () => {
    // Prepare
    const queue = openQueue();
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await queue.send({ n }));

    // Act
    const first = await queue.receive({ maxMessages: 2 });
    const rest = await queue.receive();

    // Assess
    expect([...first, ...rest].map((m) => m.id)).toEqual(ids);
  });

  it('lists dead letters oldest first, with exactly maxReceiveCount receives', async () => {
    // Prepare
    let now = 1_000_000;
    const queue = openQueue({ maxReceiveCount: 1, now: () => now });
    const older = await queue.send({ n: 1 });
    const newer = await queue.send({ n: 2 });
    const [a, b] = await queue.receive();
    now += 30_000;

    // Act
    await queue.receive();
    const dead = await queue.listDeadLetters();

    // Assess
    expect([a?.id, b?.id]).toEqual([older, newer]);
    expect(dead.map((d) => [d.id, d.receiveCount, d.deadAt])).toEqual([
      [older, 1, now],
      [newer, 1, now],
    ]);
  });

  it('keeps queues that share a file apart', async () => {
    // Prepare
    const ingest = openQueue();
    const outbound = openQueue({ name: 'outbound' });
    const id = await outbound.send({ n: 1 });

    // Act
    const fromIngest = await ingest.receive();
    const fromOutbound = await outbound.receive();

    // Assess
    expect(fromIngest).toEqual([]);
    expect(fromOutbound.map((m) => m.id)).toEqual([id]);
    expect(await ingest.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, dead: 0 });
  });

  it('keeps a sent message across closing and reopening the file', async () => {
    // Prepare
    const writer = openQueue();
    const id = await writer.send({ n: 5 });
    writer.close();

    // Act
    const reader = openQueue();
    const messages = await reader.receive();

    // Assess
    expect(messages.map((m) => [m.id, m.body])).toEqual([[id, { n: 5 }]]);
  });

  it('keeps a message whose send resolved in a process then killed with SIGKILL', async () => {
    // Prepare
    const sender = await startProcess(
      dir,
      dbPath,
      `const id = await queue.send({ n: 99 });
       process.stdout.write('sent ' + id + '\\n');
       setInterval(() => undefined, 1000);`,
    );
    sender.child.stdin.write('go\n');
    const [, sentId] = await sender.waitFor(/sent (\S+)\n/);

    // Act
    sender.child.kill('SIGKILL');
    await sender.exited;
    const messages = await openQueue().receive();

    // Assess
    expect(messages.map((m) => [m.id, m.body])).toEqual([[sentId, { n: 99 }]]);
  });

  it('never gives one message to two processes receiving at the same time', async () => {
    // Prepare
    const total = 300;
    const producer = openQueue();
    for (let n = 0; n < total; n++) await producer.send({ n });
    const receiveAll = `
      const ids = [];
      while (true) {
        const batch = await queue.receive({ maxMessages: 1 });
        if (batch.length === 0) break;
        ids.push(...batch.map((m) => m.id));
        // A moment of "work" between receives, as a real consumer has: without it one
        // process can win every lock race and the other never gets a turn.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      process.stdout.write(JSON.stringify(ids));
      queue.close();
      process.exit(0);`;
    const workers = await Promise.all([
      startProcess(dir, dbPath, receiveAll),
      startProcess(dir, dbPath, receiveAll),
    ]);

    // Act
    for (const worker of workers) worker.child.stdin.write('go\n');
    await Promise.all(workers.map((w) => w.exited));

    // Assess
    const received = workers.map((w) => JSON.parse(w.output()) as string[]);
    const all = received.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    for (const ids of received) expect(ids.length).toBeGreaterThan(0);
    expect(await producer.stats()).toEqual({ visible: 0, inFlight: total, delayed: 0, dead: 0 });
  });

  it('turns a database failure into a JobQueueError', async () => {
    // Prepare
    const queue = openQueue();
    queue.close();

    // Act
    const sending = queue.send({ n: 1 });

    // Assess
    await expect(sending).rejects.toMatchObject({ name: 'JobQueueError' });
  });
});
