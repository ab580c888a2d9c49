import type { MailStore } from '../store/types.js';

/**
 * The exclusive maildrop lock of RFC 1939 §8, as a store lease, so that it holds across
 * processes and machines: taken at login, renewed while the session lives, given up at
 * QUIT or when the connection drops. A process that dies holding it frees it when the lease
 * runs out.
 */
export class MaildropLock {
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  private constructor(
    private readonly store: MailStore,
    private readonly name: string,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly onLost: (err?: unknown) => void,
  ) {}

  /** The lock, or undefined when another session holds it. onLost runs if a renewal fails. */
  static async acquire(
    store: MailStore,
    account: string,
    owner: string,
    ttlMs: number,
    onLost: (err?: unknown) => void,
  ): Promise<MaildropLock | undefined> {
    const lock = new MaildropLock(store, `pop3:${account}`, owner, ttlMs, onLost);
    if (!(await store.acquireLease(lock.name, owner, ttlMs))) return undefined;
    lock.held = true;
    lock.schedule();
    return lock;
  }

  private schedule() {
    this.timer = setTimeout(() => void this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  private async renew() {
    if (!this.held) return;
    try {
      if (await this.store.acquireLease(this.name, this.owner, this.ttlMs)) {
        if (this.held) this.schedule();
        return;
      }
      this.held = false;
      this.onLost();
    } catch (err) {
      this.held = false;
      this.onLost(err);
    }
  }

  /** Whether the lease is still ours: checked again before deletions are committed. */
  async confirm(): Promise<boolean> {
    if (!this.held) return false;
    this.held = await this.store.acquireLease(this.name, this.owner, this.ttlMs);
    return this.held;
  }

  async release(): Promise<void> {
    clearTimeout(this.timer);
    if (!this.held) return;
    this.held = false;
    await this.store.releaseLease(this.name, this.owner);
  }
}
