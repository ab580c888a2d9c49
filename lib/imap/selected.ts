import type { MailStore, Mailbox } from '../store/types.js';

/** One untagged update found by a sync, in the order RFC 3501 §7 wants them sent. */
export type MailboxUpdate =
  | { kind: 'expunge'; seq: number; uid: number }
  | { kind: 'exists'; count: number }
  | { kind: 'flags'; seq: number; uid: number; flags: string[]; modseq: number };

const CHANGE_PAGE = 1000;
const STATE_PAGE = 20_000;

/**
 * Flag lists are shared: most messages of a mailbox carry one of a handful of flag sets
 * ((), (\Seen), (\Seen \Answered) ...), so every session and message points at one
 * frozen array per distinct set instead of holding its own.
 */
const interned = new Map<string, readonly string[]>();

export function internFlags(flags: readonly string[]): string[] {
  const key = flags.join(' ');
  let shared = interned.get(key);
  if (!shared) {
    if (interned.size > 10_000) interned.clear();
    shared = Object.freeze([...flags]);
    interned.set(key, shared);
  }
  return shared as string[];
}

/** A read-only view of a per-message value, looked up by UID. */
export interface ByUid<T> {
  get(uid: number): T | undefined;
  has(uid: number): boolean;
}

/** A growable typed array with remove-at, for the columns of a mailbox view. */
class Column<A extends Uint32Array | Float64Array> {
  length = 0;
  private cached: A | undefined;
  constructor(
    private data: A,
    private readonly make: (size: number) => A,
  ) {}

  get(i: number): number | undefined {
    return i >= 0 && i < this.length ? this.data[i] : undefined;
  }

  set(i: number, value: number): void {
    this.data[i] = value;
  }

  push(value: number): void {
    this.cached = undefined;
    if (this.length === this.data.length) {
      const grown = this.make(Math.max(16, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  removeAt(i: number): void {
    this.cached = undefined;
    this.data.copyWithin(i, i + 1, this.length);
    this.length--;
  }

  /** The live values (a view, not a copy; made again only after the length changed). */
  values(): A {
    this.cached ??= this.data.subarray(0, this.length) as A;
    return this.cached;
  }
}

/**
 * What one session believes about its selected mailbox: the sequence-number → UID map,
 * flags and MODSEQs. Other sessions and other processes change the mailbox; `sync` reads
 * the store's change log from the last MODSEQ seen and turns it into untagged responses.
 * Sequence numbers change only when this session is told (RFC 3501 §7.4.1), which is why
 * expunges are held back while a command that uses sequence numbers is running.
 *
 * Memory is what limits idle connections, so a message costs 16 bytes here: its UID, its
 * MODSEQ and the index of its flag set in typed columns; the flag sets are shared.
 */
export class SelectedMailbox {
  private readonly uidColumn = new Column(new Uint32Array(0), (n) => new Uint32Array(n));
  private readonly modseqColumn = new Column(new Float64Array(0), (n) => new Float64Array(n));
  private readonly flagColumn = new Column(new Uint32Array(0), (n) => new Uint32Array(n));
  private readonly flagSets: string[][] = [];
  private readonly flagSetIds = new Map<string, number>();
  readonly flags: ByUid<string[]> = {
    get: (uid) => {
      const id = this.flagColumn.get(this.seqOf(uid) - 1);
      return id === undefined ? undefined : this.flagSets[id];
    },
    has: (uid) => this.seqOf(uid) > 0,
  };
  readonly modseqs: ByUid<number> = {
    get: (uid) => this.modseqColumn.get(this.seqOf(uid) - 1),
    has: (uid) => this.seqOf(uid) > 0,
  };
  /** Messages this session saw arrive (its \Recent set; IMAP4rev2 drops \Recent altogether). */
  readonly recent = new Set<number>();
  highestModseq: number;
  uidNext: number;

  private constructor(
    readonly account: string,
    readonly name: string,
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
  ) {
    this.highestModseq = mailbox.highestModseq;
    this.uidNext = mailbox.uidNext;
  }

  get uidValidity(): number {
    return this.mailbox.uidValidity;
  }

  get exists(): number {
    return this.uidColumn.length;
  }

  /** UIDs by sequence number (uids[seq - 1]); a view that the next sync may change. */
  get uids(): Uint32Array {
    return this.uidColumn.values();
  }

  /** The UIDs as a plain array (for the store, which takes number[]). */
  uidList(): number[] {
    return Array.from(this.uidColumn.values());
  }

  private flagSetId(flags: readonly string[]): number {
    const key = flags.join(' ');
    let id = this.flagSetIds.get(key);
    if (id === undefined) {
      id = this.flagSets.length;
      this.flagSets.push(internFlags(flags));
      this.flagSetIds.set(key, id);
    }
    return id;
  }

  static async open(
    store: MailStore,
    account: string,
    mailbox: Mailbox,
    readOnly: boolean,
  ): Promise<SelectedMailbox> {
    const view = new SelectedMailbox(account, mailbox.name, mailbox, readOnly);
    for (let from = 1; ;) {
      const page = await store.listMessageStates(account, mailbox.name, { fromUid: from, limit: STATE_PAGE });
      for (const state of page) view.push(state.uid, state.flags, state.modseq);
      if (page.length < STATE_PAGE) break;
      from = page[page.length - 1]!.uid + 1;
    }
    if (view.exists) view.uidNext = Math.max(view.uidNext, view.uids[view.exists - 1]! + 1);
    return view;
  }

  /** The sequence number of a UID, or 0 when it is not (or no longer) in this view. */
  seqOf(uid: number): number {
    // Binary search: UIDs are strictly increasing.
    let lo = 0;
    const uids = this.uidColumn;
    let hi = uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const value = uids.get(mid)!;
      if (value === uid) return mid + 1;
      if (value < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  private push(uid: number, flags: readonly string[], modseq: number) {
    this.uidColumn.push(uid);
    this.flagColumn.push(this.flagSetId(flags));
    this.modseqColumn.push(modseq);
    if (modseq > this.highestModseq) this.highestModseq = modseq;
  }

  /** Flags of message seq (1-based). */
  flagsAt(seq: number): string[] {
    return this.flagSets[this.flagColumn.get(seq - 1)!]!;
  }

  /** MODSEQ of message seq (1-based). */
  modseqAt(seq: number): number {
    return this.modseqColumn.get(seq - 1)!;
  }

  /** Records a change this session made itself, so the next sync does not report it again. */
  noteFlags(uid: number, flags: string[], modseq: number): void {
    const seq = this.seqOf(uid);
    if (!seq) return;
    this.flagColumn.set(seq - 1, this.flagSetId(flags));
    this.modseqColumn.set(seq - 1, modseq);
  }

  /**
   * Brings the view up to date. With allowExpunge false (FETCH, STORE, SEARCH by sequence
   * number) it stops before the first expunge, so no sequence number shifts under the
   * client; the rest is read at the next command that may hear it.
   */
  async sync(store: MailStore, allowExpunge: boolean): Promise<MailboxUpdate[]> {
    const expunges: MailboxUpdate[] = [];
    const flagChanges = new Map<number, number>();
    const before = this.exists;
    let stop = false;
    while (!stop) {
      const changes = await store.changesSince(this.account, this.name, this.highestModseq, CHANGE_PAGE);
      for (const change of changes) {
        if (change.kind === 'expunge') {
          if (!allowExpunge) {
            stop = true;
            break;
          }
          const seq = this.seqOf(change.uid);
          if (seq) {
            this.uidColumn.removeAt(seq - 1);
            this.flagColumn.removeAt(seq - 1);
            this.modseqColumn.removeAt(seq - 1);
            this.recent.delete(change.uid);
            flagChanges.delete(change.uid);
            expunges.push({ kind: 'expunge', seq, uid: change.uid });
          }
        } else if (change.kind === 'append') {
          if (change.uid >= this.uidNext) {
            this.push(change.uid, change.flags ?? [], change.modseq);
            this.recent.add(change.uid);
            this.uidNext = change.uid + 1;
          }
        } else {
          const seq = this.seqOf(change.uid);
          if (seq && change.modseq > this.modseqColumn.get(seq - 1)!) {
            this.flagColumn.set(seq - 1, this.flagSetId(change.flags ?? []));
            this.modseqColumn.set(seq - 1, change.modseq);
            // Messages new in this sync are announced by EXISTS; a client fetches their flags.
            if (seq <= before) flagChanges.set(change.uid, change.modseq);
          }
        }
        this.highestModseq = change.modseq;
      }
      if (changes.length < CHANGE_PAGE) break;
    }
    const updates: MailboxUpdate[] = [...expunges];
    if (this.exists > before - expunges.length) updates.push({ kind: 'exists', count: this.exists });
    for (const [uid, modseq] of flagChanges) {
      const seq = this.seqOf(uid);
      if (seq) updates.push({ kind: 'flags', seq, uid, flags: this.flags.get(uid)!, modseq });
    }
    return updates;
  }
}
