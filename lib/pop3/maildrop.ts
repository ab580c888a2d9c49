import type { MailStore } from '../store/types.js';
import { MAILDROP_PAGE } from './limits.js';
import { Pop3Error, badArgs } from './errors.js';

/** The mailbox POP3 serves (RFC 1939 has one maildrop per user; ours is the INBOX). */
export const MAILDROP_MAILBOX = 'INBOX';

/**
 * The maildrop as it stood at login (RFC 1939 §5: message numbers stay fixed for the
 * session, and mail that arrives later is not seen until the next one). Kept as typed
 * columns, 11 bytes a message, so a 100,000-message INBOX costs a megabyte.
 */
export class Maildrop {
  private readonly deleted: Uint8Array;
  private readonly retrieved: Uint8Array;

  private constructor(
    readonly uidValidity: number,
    private readonly uids: Uint32Array,
    private readonly sizes: Uint32Array,
    /** 1 where the message had \Seen at login: QUIT need not set it again. */
    private readonly seen: Uint8Array,
  ) {
    this.deleted = new Uint8Array(uids.length);
    this.retrieved = new Uint8Array(uids.length);
  }

  static async load(store: MailStore, account: string): Promise<Maildrop> {
    const box = await store.getMailbox(account, MAILDROP_MAILBOX);
    if (!box) throw new Pop3Error('No maildrop for this account', 'SYS/PERM');
    let uids = new Uint32Array(Math.max(box.messages, 16));
    let sizes = new Uint32Array(uids.length);
    let seen = new Uint8Array(uids.length);
    let count = 0;
    // The INBOX's UIDVALIDITY cannot change (it is never deleted or renamed away).
    for (let from = 1; ;) {
      const page = await store.listMessageStates(account, MAILDROP_MAILBOX, {
        fromUid: from,
        limit: MAILDROP_PAGE,
      });
      for (const state of page) {
        if (count === uids.length) {
          uids = grow(uids);
          sizes = grow(sizes);
          seen = grow(seen);
        }
        uids[count] = state.uid;
        sizes[count] = state.size;
        seen[count] = state.flags.includes('\\Seen') ? 1 : 0;
        count++;
      }
      if (page.length < MAILDROP_PAGE) break;
      from = page[page.length - 1]!.uid + 1;
    }
    return new Maildrop(box.uidValidity, uids.slice(0, count), sizes.slice(0, count), seen.slice(0, count));
  }

  /** Messages at login, deleted ones included (their numbers stay taken). */
  get length(): number {
    return this.uids.length;
  }

  /** STAT (RFC 1939 §5): messages not marked deleted, and their octets. */
  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (let i = 0; i < this.uids.length; i++) {
      if (this.deleted[i]) continue;
      count++;
      octets += this.sizes[i]!;
    }
    return { count, octets };
  }

  /**
   * The index of message `arg` (a 1-based message number as the client wrote it); throws
   * `-ERR` for anything that is not a live message (§5: deleted messages may not be named).
   */
  index(arg: string | undefined): number {
    if (arg === undefined) throw badArgs('Message number required');
    if (!/^\d{1,10}$/.test(arg)) throw badArgs(`Invalid message number ${arg.slice(0, 20)}`);
    const n = Number(arg);
    if (n < 1 || n > this.uids.length) throw new Pop3Error(`No such message ${n}`);
    if (this.deleted[n - 1]) throw new Pop3Error(`Message ${n} already deleted`);
    return n - 1;
  }

  isDeleted(i: number): boolean {
    return this.deleted[i] === 1;
  }

  uid(i: number): number {
    return this.uids[i]!;
  }

  size(i: number): number {
    return this.sizes[i]!;
  }

  /** The unique-id listing (RFC 1939 §7): UIDVALIDITY and UID, as IMAP identifies the message. */
  uidl(i: number): string {
    return `${this.uidValidity}.${this.uids[i]!}`;
  }

  markDeleted(i: number): void {
    this.deleted[i] = 1;
  }

  markRetrieved(i: number): void {
    this.retrieved[i] = 1;
  }

  /** RSET (§5): every deletion mark is removed. */
  reset(): void {
    this.deleted.fill(0);
  }

  /** UIDs marked deleted: what QUIT expunges. */
  deletedUids(): number[] {
    return this.pick((i) => this.deleted[i] === 1);
  }

  /** UIDs retrieved in full, not deleted and not \Seen at login: what QUIT marks \Seen. */
  retrievedUnseenUids(): number[] {
    return this.pick((i) => this.retrieved[i] === 1 && this.deleted[i] === 0 && this.seen[i] === 0);
  }

  private pick(test: (i: number) => boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.uids.length; i++) if (test(i)) out.push(this.uids[i]!);
    return out;
  }
}

function grow<T extends Uint32Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}
