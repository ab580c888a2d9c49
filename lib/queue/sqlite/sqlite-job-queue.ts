import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { JobQueueError } from '../errors.js';
import type {
  DeadLetter,
  JobQueue,
  QueueMessage,
  QueueStats,
  ReceiveOptions,
  SendOptions,
} from '../types.js';

export interface SqliteJobQueueOptions {
  /** SQLite file, or ':memory:'. */
  path: string;
  /** Queue name; several queues may share one file. Default 'ingest'. */
  name?: string;
  /** Receives allowed before a message dead-letters (SQS redrive policy). Default 5. */
  maxReceiveCount?: number;
  /** Default for receive(). Default 30. */
  visibilityTimeoutSeconds?: number;
  /** Clock in ms since the epoch; tests inject one. */
  now?: () => number;
}

interface Row {
  id: string;
  body: string;
  sent_at: number;
  receive_count: number;
  dead_at: number | null;
  last_error: string | null;
}

/** SQS's own bound on one ReceiveMessage call. */
const MAX_BATCH = 10;

// One table for every queue in the file; a dead letter is a row with dead_at set, so
// dead-lettering and redrive are single-row updates that keep body, sentAt and lastError.
// seq orders messages oldest first even when two share a millisecond.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  queue          TEXT NOT NULL,
  body           TEXT NOT NULL,
  sent_at        INTEGER NOT NULL,
  visible_at     INTEGER NOT NULL,
  receive_count  INTEGER NOT NULL DEFAULT 0,
  receipt_handle TEXT UNIQUE,
  last_error     TEXT,
  dead_at        INTEGER
);
CREATE INDEX IF NOT EXISTS queue_messages_live
  ON queue_messages (queue, visible_at) WHERE dead_at IS NULL;
CREATE INDEX IF NOT EXISTS queue_messages_dead
  ON queue_messages (queue, dead_at) WHERE dead_at IS NOT NULL;
`;

/**
 * JobQueue on a SQLite table, for one machine. Several processes may open the same file:
 * every state change runs in a write transaction taken up front (BEGIN IMMEDIATE), so two
 * receivers never get the same message while it is invisible.
 */
export class SqliteJobQueue<T> implements JobQueue<T> {
  readonly #db: Database.Database;
  readonly #queue: string;
  readonly #maxReceiveCount: number;
  readonly #visibilityTimeoutSeconds: number;
  readonly #now: () => number;

  constructor(options: SqliteJobQueueOptions) {
    this.#queue = options.name ?? 'ingest';
    this.#maxReceiveCount = options.maxReceiveCount ?? 5;
    this.#visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    this.#now = options.now ?? Date.now;
    assertPositiveInteger('maxReceiveCount', this.#maxReceiveCount);
    assertSeconds('visibilityTimeoutSeconds', this.#visibilityTimeoutSeconds);
    try {
      // The busy timeout lets a second process wait for another's write lock instead of
      // failing with SQLITE_BUSY.
      this.#db = new Database(options.path, { timeout: 5000 });
      this.#db.pragma('journal_mode = WAL');
      // FULL: a commit is fsynced before send() resolves, so an acknowledged message
      // survives power loss, not only a crash of the process.
      this.#db.pragma('synchronous = FULL');
      this.#db.exec(SCHEMA);
    } catch (error) {
      throw new JobQueueError(`cannot open queue database ${options.path}`, { cause: error });
    }
  }

  async send(body: T, options: SendOptions = {}): Promise<string> {
    const delaySeconds = options.delaySeconds ?? 0;
    assertSeconds('delaySeconds', delaySeconds);
    return this.#run('send', () => {
      const id = randomUUID();
      const now = this.#now();
      this.#db
        .prepare(
          `INSERT INTO queue_messages (id, queue, body, sent_at, visible_at)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .run(id, this.#queue, JSON.stringify(body), now, now + delaySeconds * 1000);
      return id;
    });
  }

  async receive(options: ReceiveOptions = {}): Promise<QueueMessage<T>[]> {
    const maxMessages = options.maxMessages ?? MAX_BATCH;
    const timeout = options.visibilityTimeoutSeconds ?? this.#visibilityTimeoutSeconds;
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > MAX_BATCH) {
      throw new JobQueueError(`maxMessages must be 1..${MAX_BATCH}, got ${maxMessages}`);
    }
    assertSeconds('visibilityTimeoutSeconds', timeout);
    return this.#run('receive', () =>
      this.#db
        .transaction(() => {
          const now = this.#now();
          this.#deadLetterExhausted(now);
          const rows = this.#db
            .prepare(
              `SELECT id, body, sent_at, receive_count FROM queue_messages
               WHERE queue = ? AND dead_at IS NULL AND visible_at <= ?
               ORDER BY seq LIMIT ?`,
            )
            .all(this.#queue, now, maxMessages) as Row[];
          const claim = this.#db.prepare(
            `UPDATE queue_messages
             SET receive_count = receive_count + 1, visible_at = ?, receipt_handle = ?
             WHERE id = ?`,
          );
          return rows.map((row): QueueMessage<T> => {
            // A fresh handle per receive is what makes the previous receiver's handle stale.
            const receiptHandle = randomUUID();
            claim.run(now + timeout * 1000, receiptHandle, row.id);
            return {
              id: row.id,
              receiptHandle,
              body: JSON.parse(row.body) as T,
              receiveCount: row.receive_count + 1,
              sentAt: row.sent_at,
            };
          });
        })
        .immediate(),
    );
  }

  async delete(receiptHandle: string): Promise<void> {
    this.#run('delete', () => {
      this.#db
        .prepare(`DELETE FROM queue_messages WHERE queue = ? AND receipt_handle = ?`)
        .run(this.#queue, receiptHandle);
    });
  }

  async deleteMany(receiptHandles: string[]): Promise<void> {
    if (receiptHandles.length === 0) return;
    this.#run('deleteMany', () => {
      const remove = this.#db.prepare(`DELETE FROM queue_messages WHERE queue = ? AND receipt_handle = ?`);
      this.#db
        .transaction(() => {
          for (const receiptHandle of receiptHandles) remove.run(this.#queue, receiptHandle);
        })
        .immediate();
    });
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    assertSeconds('seconds', seconds);
    this.#run('changeVisibility', () => {
      this.#db
        .prepare(
          `UPDATE queue_messages SET visible_at = ?
           WHERE queue = ? AND receipt_handle = ? AND dead_at IS NULL`,
        )
        .run(this.#now() + seconds * 1000, this.#queue, receiptHandle);
    });
  }

  async recordFailure(messageId: string, reason: string): Promise<void> {
    this.#run('recordFailure', () => {
      this.#db
        .prepare(`UPDATE queue_messages SET last_error = ? WHERE queue = ? AND id = ?`)
        .run(reason, this.#queue, messageId);
    });
  }

  async stats(): Promise<QueueStats> {
    return this.#run('stats', () =>
      this.#db
        .transaction(() => {
          const now = this.#now();
          this.#deadLetterExhausted(now);
          // A message is delayed until its first receive, in flight after it.
          return this.#db
            .prepare(
              `SELECT
                 COUNT(*) FILTER (WHERE dead_at IS NULL AND visible_at <= @now) AS visible,
                 COUNT(*) FILTER (WHERE dead_at IS NULL AND visible_at > @now
                                  AND receive_count > 0) AS inFlight,
                 COUNT(*) FILTER (WHERE dead_at IS NULL AND visible_at > @now
                                  AND receive_count = 0) AS delayed,
                 COUNT(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
               FROM queue_messages WHERE queue = @queue`,
            )
            .get({ now, queue: this.#queue }) as QueueStats;
        })
        .immediate(),
    );
  }

  async listDeadLetters(limit = 100): Promise<DeadLetter<T>[]> {
    return this.#run('listDeadLetters', () =>
      this.#db
        .transaction(() => {
          this.#deadLetterExhausted(this.#now());
          const rows = this.#db
            .prepare(
              `SELECT id, body, sent_at, receive_count, dead_at, last_error
               FROM queue_messages WHERE queue = ? AND dead_at IS NOT NULL
               ORDER BY dead_at, seq LIMIT ?`,
            )
            .all(this.#queue, limit) as Row[];
          return rows.map((row): DeadLetter<T> => ({
            id: row.id,
            body: JSON.parse(row.body) as T,
            receiveCount: row.receive_count,
            sentAt: row.sent_at,
            deadAt: row.dead_at ?? 0,
            lastError: row.last_error,
          }));
        })
        .immediate(),
    );
  }

  async redrive(ids?: string[]): Promise<number> {
    return this.#run('redrive', () =>
      this.#db
        .transaction(() => {
          this.#deadLetterExhausted(this.#now());
          // Only the receive count starts over; body, sentAt and lastError stay. visible_at
          // needs no reset: a message dead-letters only once it is visible again.
          const redrive = this.#db.prepare(
            `UPDATE queue_messages SET dead_at = NULL, receive_count = 0
             WHERE queue = @queue AND dead_at IS NOT NULL AND (@id IS NULL OR id = @id)`,
          );
          if (ids === undefined) return redrive.run({ queue: this.#queue, id: null }).changes;
          let moved = 0;
          for (const id of new Set(ids)) moved += redrive.run({ queue: this.#queue, id }).changes;
          return moved;
        })
        .immediate(),
    );
  }

  /** Closes the database connection; the queue cannot be used afterwards. */
  close(): void {
    this.#db.close();
  }

  /**
   * The redrive policy, applied lazily as SQS does: a message that has used up its
   * receives moves to the dead-letter queue the moment it would be visible again. Its
   * receipt handle goes with it, so a late delete from the last receiver is a no-op.
   */
  #deadLetterExhausted(now: number): void {
    this.#db
      .prepare(
        `UPDATE queue_messages SET dead_at = ?, receipt_handle = NULL
         WHERE queue = ? AND dead_at IS NULL AND visible_at <= ? AND receive_count >= ?`,
      )
      .run(now, this.#queue, now, this.#maxReceiveCount);
  }

  /** Runs one statement or transaction, turning SQLite's errors into JobQueueError. */
  #run<R>(what: string, fn: () => R): R {
    try {
      return fn();
    } catch (error) {
      if (error instanceof JobQueueError) throw error;
      throw new JobQueueError(`${what} on queue ${this.#queue} failed`, { cause: error });
    }
  }
}

function assertSeconds(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new JobQueueError(`${name} must be a non-negative number of seconds, got ${value}`);
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new JobQueueError(`${name} must be a positive integer, got ${value}`);
  }
}
