/**
 * The JobQueue contract: what every adapter (SQLite, SQS) must do the same way.
 *
 * Time. The contract owns a manual clock and passes its `now` to `make`. An adapter that
 * reads time from it (the embedded SQLite queue) reports `clock: 'injected'`, and every
 * wait below is an instant `clock.advance`. An adapter that cannot be told the time (SQS,
 * even on an emulator) reports `clock: 'real'`; each wait then also sleeps for real, so
 * every time-dependent case uses whole seconds (SQS's unit) and at most a few of them.
 * Timeouts: the contract asks for a 1 s visibility timeout and maxReceiveCount 3.
 *
 * Order. Nothing here asserts the order of messages in a batch: SQS standard queues do not
 * keep it. Short polling may also return fewer messages than are ready, so tests that need
 * several messages collect them over a few receives.
 *
 * Stats are asserted exactly, which holds for the embedded queue and for emulators; real
 * SQS only gives approximate counts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobQueue, QueueMessage } from '../../lib/queue/types.js';

export interface Job {
  n: number;
}

export interface JobQueueFactoryOptions {
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** The contract's clock, ms since the epoch; use it if the adapter can. */
  now: () => number;
}

export interface JobQueueFixture {
  /** A fresh, empty queue (and dead-letter queue) configured from the options. */
  queue: JobQueue<Job>;
  /** 'injected': the queue reads time from `now`; 'real': it uses the wall clock. */
  clock: 'injected' | 'real';
  cleanup: () => Promise<void>;
}

const MAX_RECEIVE_COUNT = 3;
const VISIBILITY_TIMEOUT_SECONDS = 1;
/** Extra real time per wait, so a real-clock queue has surely passed the deadline. */
const REAL_TIME_SLACK_MS = 300;
/** Receives tried when collecting messages that short polling may hand out piecemeal. */
const COLLECT_ATTEMPTS = 5;

class ManualClock {
  #ms = Date.now();
  readonly now = (): number => this.#ms;
  advance(seconds: number): void {
    this.#ms += seconds * 1000;
  }
}

export function runJobQueueContract(
  name: string,
  make: (options: JobQueueFactoryOptions) => Promise<JobQueueFixture>,
): void {
  describe(`JobQueue contract: ${name}`, () => {
    let clock: ManualClock;
    let fixture: JobQueueFixture;
    let queue: JobQueue<Job>;

    beforeEach(async () => {
      clock = new ManualClock();
      fixture = await make({
        maxReceiveCount: MAX_RECEIVE_COUNT,
        visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
        now: clock.now,
      });
      queue = fixture.queue;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    async function pass(seconds: number): Promise<void> {
      clock.advance(seconds);
      if (fixture.clock === 'real') {
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + REAL_TIME_SLACK_MS));
      }
    }

    function currentTime(): number {
      return fixture.clock === 'injected' ? clock.now() : Date.now();
    }

    /** Receives until `count` messages have come back or the attempts run out. */
    async function collect(count: number): Promise<QueueMessage<Job>[]> {
      const got: QueueMessage<Job>[] = [];
      for (let i = 0; i < COLLECT_ATTEMPTS && got.length < count; i++) {
        got.push(...(await queue.receive({ maxMessages: Math.min(10, count - got.length) })));
      }
      return got;
    }

    async function receiveOne(): Promise<QueueMessage<Job>> {
      const [message, ...rest] = await collect(1);
      expect(rest).toEqual([]);
      if (!message) throw new Error('expected a message, the queue gave none');
      return message;
    }

    /** Receives a message maxReceiveCount times, then lets it dead-letter. */
    async function exhaust(id: string, reason?: string): Promise<void> {
      for (let i = 1; i <= MAX_RECEIVE_COUNT; i++) {
        const message = await receiveOne();
        expect(message.id).toBe(id);
        if (reason !== undefined) await queue.recordFailure(id, `${reason} #${i}`);
        await queue.changeVisibility(message.receiptHandle, 0);
      }
      // SQS moves a message to the dead-letter queue when a receive finds it exhausted.
      expect(await queue.receive()).toEqual([]);
    }

    describe('send, receive, delete', () => {
      it('hands out a sent message once, with its body, id and first receive', async () => {
        // Prepare
        const sentAround = currentTime();
        const id = await queue.send({ n: 42 });

        // Act
        const message = await receiveOne();

        // Assess
        expect(message).toMatchObject({ id, body: { n: 42 }, receiveCount: 1 });
        expect(typeof message.receiptHandle).toBe('string');
        const tolerance = fixture.clock === 'injected' ? 0 : 5000;
        expect(Math.abs(message.sentAt - sentAround)).toBeLessThanOrEqual(tolerance);
      });

      it('gives each message its own id', async () => {
        // Act
        const ids = [await queue.send({ n: 1 }), await queue.send({ n: 2 })];

        // Assess
        expect(new Set(ids).size).toBe(2);
      });

      it('returns nothing from an empty queue', async () => {
        // Act
        const messages = await queue.receive();

        // Assess
        expect(messages).toEqual([]);
      });

      it('never returns a deleted message, even after its visibility timeout', async () => {
        // Prepare
        await queue.send({ n: 1 });
        const message = await receiveOne();

        // Act
        await queue.delete(message.receiptHandle);
        await pass(VISIBILITY_TIMEOUT_SECONDS);

        // Assess
        expect(await queue.receive()).toEqual([]);
        expect(await queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, dead: 0 });
      });
    });

    describe('visibility', () => {
      it('hides a received message until its visibility timeout has passed', async () => {
        // Prepare
        const id = await queue.send({ n: 1 });
        const first = await receiveOne();

        // Act
        const whileHidden = await queue.receive();
        await pass(VISIBILITY_TIMEOUT_SECONDS);
        const again = await receiveOne();

        // Assess
        expect(whileHidden).toEqual([]);
        expect(again.id).toBe(id);
        expect(again.receiveCount).toBe(2);
        expect(again.receiptHandle).not.toBe(first.receiptHandle);
      });

      it('takes a visibility timeout per receive', async () => {
        // Prepare
        const id = await queue.send({ n: 1 });
        await queue.receive({ visibilityTimeoutSeconds: 3 });

        // Act
        await pass(1);
        const early = await queue.receive();
        await pass(2);
        const due = await receiveOne();

        // Assess
        expect(early).toEqual([]);
        expect(due.id).toBe(id);
      });

      it('changeVisibility(0) shows the message again at once', async () => {
        // Prepare
        const id = await queue.send({ n: 1 });
        const first = await receiveOne();

        // Act
        await queue.changeVisibility(first.receiptHandle, 0);
        const again = await receiveOne();

        // Assess
        expect(again.id).toBe(id);
        expect(again.receiveCount).toBe(2);
      });

      it('changeVisibility extends the timeout of a message still being worked on', async () => {
        // Prepare
        const id = await queue.send({ n: 1 });
        const first = await receiveOne();

        // Act
        await queue.changeVisibility(first.receiptHandle, 3);
        await pass(VISIBILITY_TIMEOUT_SECONDS);
        const early = await queue.receive();
        await pass(3 - VISIBILITY_TIMEOUT_SECONDS);
        const due = await receiveOne();

        // Assess
        expect(early).toEqual([]);
        expect(due.id).toBe(id);
      });

      it('counts every receive', async () => {
        // Prepare
        await queue.send({ n: 1 });

        // Act
        const counts: number[] = [];
        for (let i = 0; i < MAX_RECEIVE_COUNT; i++) {
          const message = await receiveOne();
          counts.push(message.receiveCount);
          await queue.changeVisibility(message.receiptHandle, 0);
        }

        // Assess
        expect(counts).toEqual([1, 2, 3]);
      });

      it('ignores delete and changeVisibility with the handle of an earlier receive', async () => {
        // Prepare
        await queue.send({ n: 1 });
        const stale = await receiveOne();
        await pass(VISIBILITY_TIMEOUT_SECONDS);
        const current = await receiveOne();

        // Act
        await queue.delete(stale.receiptHandle);
        await queue.changeVisibility(stale.receiptHandle, 0);

        // Assess
        expect(await queue.receive()).toEqual([]);
        expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 1 });
        await queue.delete(current.receiptHandle);
        expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 0 });
      });
    });

    describe('deleteMany', () => {
      it('removes the messages it names for good and leaves the others to come back', async () => {
        // Prepare
        for (let n = 0; n < 4; n++) await queue.send({ n });
        const received = await collect(4);
        expect(received).toHaveLength(4);
        const [deleted, kept] = [received.slice(0, 2), received.slice(2)];

        // Act
        await queue.deleteMany(deleted.map((m) => m.receiptHandle));
        await pass(VISIBILITY_TIMEOUT_SECONDS);
        const back = await collect(4);

        // Assess
        expect(new Set(back.map((m) => m.id))).toEqual(new Set(kept.map((m) => m.id)));
        expect(back.every((m) => m.receiveCount === 2)).toBe(true);
        expect(await queue.stats()).toEqual({ visible: 0, inFlight: 2, delayed: 0, dead: 0 });
      });

      it('ignores stale and unknown handles among current ones, and an empty list', async () => {
        // Prepare
        const staleId = await queue.send({ n: 1 });
        const stale = await receiveOne();
        await pass(VISIBILITY_TIMEOUT_SECONDS);
        const current = await receiveOne();
        expect(current.id).toBe(staleId);
        await queue.send({ n: 2 });
        const other = await receiveOne();

        // Act
        await queue.deleteMany([]);
        await queue.deleteMany([stale.receiptHandle, 'no-such-receipt-handle', other.receiptHandle]);
        const afterStale = await queue.stats();
        await queue.deleteMany([current.receiptHandle]);

        // Assess
        expect(afterStale).toEqual({ visible: 0, inFlight: 1, delayed: 0, dead: 0 });
        await pass(VISIBILITY_TIMEOUT_SECONDS);
        expect(await queue.receive()).toEqual([]);
        expect(await queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, dead: 0 });
      });

      it('deletes more handles than one SQS batch holds', async () => {
        // Prepare
        const sent = new Set<string>();
        for (let n = 0; n < 25; n++) sent.add(await queue.send({ n }));
        const received = await collect(25);
        expect(new Set(received.map((m) => m.id))).toEqual(sent);

        // Act
        await queue.deleteMany(received.map((m) => m.receiptHandle));
        await pass(VISIBILITY_TIMEOUT_SECONDS);

        // Assess
        expect(await collect(25)).toEqual([]);
        expect(await queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, dead: 0 });
      });
    });

    describe('delay', () => {
      it('keeps a delayed message back until its delay has passed', async () => {
        // Prepare
        const id = await queue.send({ n: 1 }, { delaySeconds: 2 });

        // Act
        const early = await queue.receive();
        const earlyStats = await queue.stats();
        await pass(2);
        const due = await receiveOne();

        // Assess
        expect(early).toEqual([]);
        expect(earlyStats).toEqual({ visible: 0, inFlight: 0, delayed: 1, dead: 0 });
        expect(due).toMatchObject({ id, receiveCount: 1 });
      });
    });

    describe('batches', () => {
      it('returns at most 10 messages by default and at most maxMessages when asked', async () => {
        // Prepare
        const sent = new Set<string>();
        for (let n = 0; n < 14; n++) sent.add(await queue.send({ n }));

        // Act
        const byDefault = await queue.receive();
        const limited = await queue.receive({ maxMessages: 3 });
        const rest = await collect(14 - byDefault.length - limited.length);

        // Assess
        expect(byDefault.length).toBeGreaterThan(0);
        expect(byDefault.length).toBeLessThanOrEqual(10);
        expect(limited.length).toBeGreaterThan(0);
        expect(limited.length).toBeLessThanOrEqual(3);
        const all = [...byDefault, ...limited, ...rest];
        expect(all).toHaveLength(14);
        expect(new Set(all.map((m) => m.id))).toEqual(sent);
        expect(new Set(all.map((m) => m.body.n))).toEqual(new Set(Array.from({ length: 14 }, (_, n) => n)));
      });

      it.each([0, 11])('rejects maxMessages %i', async (maxMessages) => {
        // Act
        const receiving = queue.receive({ maxMessages });

        // Assess
        await expect(receiving).rejects.toMatchObject({ name: 'JobQueueError' });
      });
    });

    describe('dead letters', () => {
      it('moves a message received maxReceiveCount times to the dead-letter queue with its last reason', async () => {
        // Prepare
        const id = await queue.send({ n: 7 });

        // Act
        await exhaust(id, 'parse failed');
        const dead = await queue.listDeadLetters();

        // Assess
        expect(dead).toHaveLength(1);
        expect(dead[0]).toMatchObject({
          id,
          body: { n: 7 },
          lastError: `parse failed #${MAX_RECEIVE_COUNT}`,
        });
        expect(dead[0]?.receiveCount).toBeGreaterThanOrEqual(MAX_RECEIVE_COUNT);
        expect(dead[0]?.deadAt).toBeGreaterThanOrEqual(dead[0]?.sentAt ?? Infinity);
        expect(await queue.stats()).toEqual({ visible: 0, inFlight: 0, delayed: 0, dead: 1 });
      });

      it('keeps lastError null when no failure was recorded', async () => {
        // Prepare
        const id = await queue.send({ n: 1 });

        // Act
        await exhaust(id);
        const dead = await queue.listDeadLetters();

        // Assess
        expect(dead.map((d) => [d.id, d.lastError])).toEqual([[id, null]]);
      });

      it('lists at most limit dead letters', async () => {
        // Prepare
        await exhaust(await queue.send({ n: 1 }));
        await exhaust(await queue.send({ n: 2 }));

        // Act
        const one = await queue.listDeadLetters(1);
        const all = await queue.listDeadLetters(10);

        // Assess
        expect(one).toHaveLength(1);
        expect(all).toHaveLength(2);
      });

      it('redrive brings every dead letter back with its receive count restarted', async () => {
        // Prepare
        const id = await queue.send({ n: 9 });
        await exhaust(id, 'boom');

        // Act
        const moved = await queue.redrive();
        const statsAfter = await queue.stats();
        const back = await receiveOne();

        // Assess
        expect(moved).toBe(1);
        expect(statsAfter).toEqual({ visible: 1, inFlight: 0, delayed: 0, dead: 0 });
        expect(back).toMatchObject({ id, body: { n: 9 }, receiveCount: 1 });
        expect(await queue.listDeadLetters()).toEqual([]);
      });

      it('a redriven message gets its full maxReceiveCount again', async () => {
        // Prepare
        const id = await queue.send({ n: 1 });
        await exhaust(id);
        await queue.redrive();

        // Act
        await exhaust(id, 'again');

        // Assess
        expect((await queue.listDeadLetters()).map((d) => d.id)).toEqual([id]);
      });

      it('redrive with ids moves only those and counts what it moved', async () => {
        // Prepare
        const first = await queue.send({ n: 1 });
        await exhaust(first);
        const second = await queue.send({ n: 2 });
        await exhaust(second);

        // Act
        const unknown = await queue.redrive(['no-such-message']);
        const moved = await queue.redrive([second]);

        // Assess
        expect(unknown).toBe(0);
        expect(moved).toBe(1);
        expect((await queue.listDeadLetters()).map((d) => d.id)).toEqual([first]);
        expect((await receiveOne()).id).toBe(second);
      });
    });

    describe('stats', () => {
      it('counts visible, in-flight, delayed and dead messages apart', async () => {
        // Prepare
        await exhaust(await queue.send({ n: 0 }));
        await queue.send({ n: 1 });
        await queue.send({ n: 2 });
        await queue.send({ n: 3 }, { delaySeconds: 60 });

        // Act
        await receiveOne();
        const stats = await queue.stats();

        // Assess
        expect(stats).toEqual({ visible: 1, inFlight: 1, delayed: 1, dead: 1 });
      });
    });
  });
}
