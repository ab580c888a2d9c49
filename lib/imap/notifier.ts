import type { MailStore } from '../store/types.js';

type Listener = () => void;

interface Watch {
  account: string;
  mailbox: string;
  highestModseq: number;
  listeners: Map<object, Listener>;
}

/**
 * Tells IDLE sessions that their mailbox changed, whoever changed it: another session,
 * or an ingest running in another process. One poll per watched mailbox (not per
 * session) of its HIGHESTMODSEQ, so 10,000 idle clients on one mailbox cost one query per
 * interval; `touch` wakes the watchers of a mailbox at once for changes made in-process.
 */
/** Mailbox reads a poll keeps in flight at once. */
const POLL_CONCURRENCY = 16;

export class MailboxNotifier {
  private readonly watches = new Map<string, Watch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Pick<MailStore, 'getMailbox'>,
    private readonly intervalMs = 250,
  ) {}

  subscribe(
    owner: object,
    account: string,
    mailbox: string,
    highestModseq: number,
    listener: Listener,
  ): void {
    const key = `${account}\0${mailbox}`;
    let watch = this.watches.get(key);
    if (!watch) {
      watch = { account, mailbox, highestModseq, listeners: new Map() };
      this.watches.set(key, watch);
    }
    watch.highestModseq = Math.min(watch.highestModseq, highestModseq);
    watch.listeners.set(owner, listener);
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
  }

  unsubscribeAll(owner: object): void {
    for (const [key, watch] of this.watches) {
      watch.listeners.delete(owner);
      if (watch.listeners.size === 0) this.watches.delete(key);
    }
    if (this.watches.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** A change made in this process: wake that mailbox's listeners now rather than at the next poll. */
  touch(account: string, mailbox: string): void {
    const watch = this.watches.get(`${account}\0${mailbox}`);
    if (watch) for (const listener of [...watch.listeners.values()]) listener();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watches.clear();
  }

  private polling = false;

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      // A few reads in flight at once: on DynamoDB a read takes milliseconds, and one at a
      // time would let a process watch only a few dozen mailboxes per interval.
      const watches = [...this.watches.values()];
      let next = 0;
      const worker = async () => {
        while (next < watches.length) {
          const watch = watches[next++]!;
          const box = await this.store.getMailbox(watch.account, watch.mailbox).catch(() => undefined);
          if (!box || box.highestModseq <= watch.highestModseq) continue;
          watch.highestModseq = box.highestModseq;
          for (const listener of [...watch.listeners.values()]) listener();
        }
      };
      await Promise.all(Array.from({ length: Math.min(POLL_CONCURRENCY, watches.length) }, worker));
    } finally {
      this.polling = false;
    }
  }
}
