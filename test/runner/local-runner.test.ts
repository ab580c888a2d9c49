import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { SqliteJobQueue } from '../../lib/queue/index.js';
import type { JobQueue } from '../../lib/queue/types.js';
import type { SqsBatchResponse, SqsEvent } from '../../lib/queue/sqs-event.js';
import { LocalRunner } from '../../lib/runner/local-runner.js';

interface Job {
  n: number;
}

/** The queue's calls that settle a received message, by method, in order. */
type Calls = { method: 'delete' | 'deleteMany' | 'changeVisibility'; args: unknown[] }[];

function counting(queue: JobQueue<Job>, calls: Calls): JobQueue<Job> {
  return new Proxy(queue, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'delete' || property === 'deleteMany' || property === 'changeVisibility') {
          calls.push({ method: property, args });
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Fails the records whose job has an odd n, as the ingest handler reports a failure. */
async function failOdd(event: SqsEvent): Promise<SqsBatchResponse> {
  return {
    batchItemFailures: event.Records.filter((r) => (JSON.parse(r.body) as Job).n % 2 === 1).map((r) => ({
      itemIdentifier: r.messageId,
    })),
  };
}

describe('LocalRunner', () => {
  let inner: SqliteJobQueue<Job>;
  let calls: Calls;
  let queue: JobQueue<Job>;

  beforeEach(() => {
    inner = new SqliteJobQueue<Job>({ path: ':memory:' });
    calls = [];
    queue = counting(inner, calls);
  });

  afterEach(() => {
    inner.close();
  });

  it('deletes the successes of a batch with one deleteMany and lets each failure come back', async () => {
    // Prepare
    const ids = new Map<number, string>();
    for (let n = 0; n < 5; n++) ids.set(n, await queue.send({ n }));
    const runner = new LocalRunner(queue, failOdd, silentLogger, { retryBaseSeconds: 0 });

    // Act
    const handled = await runner.runOnce();
    const back = await inner.receive();

    // Assess
    expect(handled).toBe(5);
    expect(calls.filter((c) => c.method === 'delete')).toEqual([]);
    const deletes = calls.filter((c) => c.method === 'deleteMany');
    expect(deletes).toHaveLength(1);
    expect((deletes[0]!.args[0] as string[]).length).toBe(3);
    expect(calls.filter((c) => c.method === 'changeVisibility')).toHaveLength(2);
    expect(new Set(back.map((m) => m.id))).toEqual(new Set([ids.get(1), ids.get(3)]));
    expect(await inner.stats()).toEqual({ visible: 0, inFlight: 2, delayed: 0, dead: 0 });
  });

  it('makes no delete call for a batch that failed whole', async () => {
    // Prepare
    await queue.send({ n: 1 });
    const runner = new LocalRunner(queue, failOdd, silentLogger, { retryBaseSeconds: 0 });

    // Act
    await runner.runOnce();

    // Assess
    expect(calls.map((c) => c.method)).toEqual(['changeVisibility']);
  });
});
