import {
  EventBridgeClient,
  PutEventsCommand,
  type EventBridgeClientConfig,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { EventsError, EventTooLargeError } from './errors.js';
import { EVENT_SOURCE, MESSAGE_RECEIVED, type Events, type MessageReceivedEvent } from './types.js';

/** PutEvents takes at most 10 entries per call... */
export const MAX_ENTRIES_PER_CALL = 10;
/** ...and at most 256 KB of them, counted as entrySize() counts. */
export const MAX_BYTES_PER_CALL = 256 * 1024;

export interface EventBridgeEventsOptions {
  /** A ready client; else one is made from `clientConfig`. */
  client?: EventBridgeClient;
  clientConfig?: EventBridgeClientConfig;
  /** Name or ARN of the bus; the account's default bus when unset. */
  eventBusName?: string;
  /** Calls per batch when PutEvents reports failed entries (the first included). Default 3. */
  attempts?: number;
  /** Wait before resending failed entries; doubles each time. Default 200 ms. */
  backoffMs?: number;
}

interface Pending {
  id: string;
  entry: PutEventsRequestEntry;
}

/**
 * Events on Amazon EventBridge: each event is one entry with source `mailroom`, detail-type
 * `mailroom.message.received` and the event as its JSON detail, timed at receivedAt.
 *
 * PutEvents is not all or nothing: a call that succeeds may still report failed entries
 * (FailedEntryCount). Those alone are sent again, a few times with backoff; if some still
 * fail, publish throws an EventsError naming them. Errors of the call itself (network,
 * throttling, 5xx) are retried by the SDK, then thrown as an EventsError. Batches go in
 * order; when one fails, the batches before it are already published, so a caller that
 * retries publishes them again: delivery is at least once, and consumers deduplicate on id.
 */
export class EventBridgeEvents implements Events {
  private readonly client: EventBridgeClient;
  private readonly ownsClient: boolean;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(private readonly options: EventBridgeEventsOptions = {}) {
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new EventBridgeClient(options.clientConfig ?? {});
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.backoffMs = options.backoffMs ?? 200;
  }

  async publish(events: MessageReceivedEvent[]): Promise<void> {
    // Every entry is checked before the first call, so an event that can never be sent
    // fails the publish without sending half of it.
    const pending = events.map((event) => this.toEntry(event));
    for (const batch of batches(pending)) await this.putBatch(batch);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private toEntry(event: MessageReceivedEvent): Pending {
    const time = Date.parse(event.receivedAt);
    const entry: PutEventsRequestEntry = {
      Source: EVENT_SOURCE,
      DetailType: MESSAGE_RECEIVED,
      Detail: JSON.stringify(event),
      ...(Number.isNaN(time) ? {} : { Time: new Date(time) }),
      ...(this.options.eventBusName === undefined ? {} : { EventBusName: this.options.eventBusName }),
    };
    const size = entrySize(entry);
    if (size > MAX_BYTES_PER_CALL) throw new EventTooLargeError(event.id, size, MAX_BYTES_PER_CALL);
    return { id: event.id, entry };
  }

  private async putBatch(batch: Pending[]): Promise<void> {
    let pending = batch;
    let failed: Failed[] = [];
    let delay = this.backoffMs;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
      let results: PutEventsResultEntry[];
      let failedCount: number;
      try {
        const output = await this.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        results = output.Entries ?? [];
        failedCount = output.FailedEntryCount ?? 0;
      } catch (err) {
        throw new EventsError(
          `PutEvents failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
          pending.map((p) => ({ id: p.id })),
          { cause: err },
        );
      }
      if (failedCount === 0 && results.every((r) => r.ErrorCode === undefined)) return;
      failed = failedEntries(pending, results);
      pending = failed.map((f) => f.pending);
    }
    const codes = [...new Set(failed.map((f) => f.result?.ErrorCode ?? 'unknown'))].join(', ');
    throw new EventsError(
      `PutEvents failed for ${failed.length} event(s) after ${this.attempts} attempts: ${codes}`,
      failed.map(({ pending: p, result }) => ({
        id: p.id,
        ...(result?.ErrorCode === undefined ? {} : { errorCode: result.ErrorCode }),
        ...(result?.ErrorMessage === undefined ? {} : { errorMessage: result.ErrorMessage }),
      })),
    );
  }
}

interface Failed {
  pending: Pending;
  result?: PutEventsResultEntry;
}

/**
 * The entries PutEvents did not take. Results come in the order of the entries sent; if they
 * cannot be matched up, every entry counts as failed: sending one twice beats dropping one.
 */
function failedEntries(sent: Pending[], results: PutEventsResultEntry[]): Failed[] {
  if (results.length !== sent.length) return sent.map((pending) => ({ pending }));
  return sent.flatMap((pending, i) => {
    const result = results[i]!;
    return result.ErrorCode !== undefined || result.EventId === undefined ? [{ pending, result }] : [];
  });
}

/**
 * The size of an entry as EventBridge counts it against the 256 KB of a call: 14 bytes for
 * Time, the UTF-8 bytes of Source, DetailType, Detail and each Resource.
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text);
  }
  return size;
}

/** Consecutive groups of at most MAX_ENTRIES_PER_CALL entries and MAX_BYTES_PER_CALL bytes. */
function batches(entries: Pending[]): Pending[][] {
  const out: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const p of entries) {
    const size = entrySize(p.entry);
    if (
      current.length === MAX_ENTRIES_PER_CALL ||
      (current.length > 0 && bytes + size > MAX_BYTES_PER_CALL)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
