import type { FailureLog, FailureRecord } from './types.js';

export interface MemoryFailureLogOptions {
  /** Records kept; the least recently written go first. Default 10 000. */
  maxEntries?: number;
  /** Clock in ms since the epoch; tests inject one. */
  now?: () => number;
}

/**
 * A FailureLog in this process's memory: enough for one process that both runs the jobs and
 * lists the dead letters, and for tests. It is lost on restart and not shared between
 * processes, so a deployment where Lambda records failures and the CLI lists them needs a
 * shared one (DynamoDB). Nothing tells it when a message succeeds, so it is bounded by size.
 */
export class MemoryFailureLog implements FailureLog {
  readonly #records = new Map<string, FailureRecord>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: MemoryFailureLogOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  async put(messageId: string, reason: string): Promise<void> {
    // Re-inserting moves the id to the end of the Map's order, so eviction takes the stalest.
    this.#records.delete(messageId);
    this.#records.set(messageId, { reason, at: this.#now() });
    for (const oldest of this.#records.keys()) {
      if (this.#records.size <= this.#maxEntries) break;
      this.#records.delete(oldest);
    }
  }

  async get(messageIds: readonly string[]): Promise<Map<string, FailureRecord>> {
    const found = new Map<string, FailureRecord>();
    for (const id of messageIds) {
      const record = this.#records.get(id);
      if (record) found.set(id, record);
    }
    return found;
  }
}
