import type { MailStore, Mailbox } from '../store/types.js';

/** One untagged update found by a sync, in the order RFC 3501 §7 wants them sent. */
export type MailboxUpdate =
  | { kind: 'expunge'; seq: number }
  | { kind: 'exists'; count: number }
  | { kind: 'flags'; seq: number; uid: number; flags: string[]; modseq: number };

const CHANGE_PAGE = 1000;
const STATE_PAGE = 20_000;

/**
 * What one session believes about its selected mailbox: the sequence-number → UID map,
 * flags and MODSEQs. Other sessions and other processes change the mailbox; `sync` reads
 * the store's change log from the last MODSEQ seen and turns it into untagged responses.
 * Sequence numbers change only when this session is told (RFC 3501 §7.4.1), which is why
 * expunges are held back while a command that uses sequence numbers is running.
 */
export class SelectedMailbox {
  /** uids[seq - 1] is the UID of message seq. */
  readonly uids: number[] = [];
  readonly flags = new Map<number, string[]>();
  readonly modseqs = new Map<number, number>();
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
    return this.uids.length;
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
      for (const state of page) {
        view.uids.push(state.uid);
        view.flags.set(state.uid, state.flags);
        view.modseqs.set(state.uid, state.modseq);
        if (state.modseq > view.highestModseq) view.highestModseq = state.modseq;
      }
      if (page.length < STATE_PAGE) break;
      from = page[page.length - 1]!.uid + 1;
    }
    if (view.uids.length) view.uidNext = Math.max(view.uidNext, view.uids[view.uids.length - 1]! + 1);
    return view;
  }

  /** The sequence number of a UID, or 0 when it is not (or no longer) in this view. */
  seqOf(uid: number): number {
    // Binary search: UIDs are strictly increasing.
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const value = this.uids[mid]!;
      if (value === uid) return mid + 1;
      if (value < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Records a change this session made itself, so the next sync does not report it again. */
  noteFlags(uid: number, flags: string[], modseq: number): void {
    if (!this.flags.has(uid)) return;
    this.flags.set(uid, flags);
    this.modseqs.set(uid, modseq);
  }

  /**
   * Brings the view up to date. With allowExpunge false (FETCH, STORE, SEARCH by sequence
   * number) it stops before the first expunge, so no sequence number shifts under the
   * client; the rest is read at the next command that may hear it.
   */
  async sync(store: MailStore, allowExpunge: boolean): Promise<MailboxUpdate[]> {
    const expunges: MailboxUpdate[] = [];
    const flagChanges = new Map<number, number>();
    const before = this.uids.length;
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
            this.uids.splice(seq - 1, 1);
            this.flags.delete(change.uid);
            this.modseqs.delete(change.uid);
            this.recent.delete(change.uid);
            flagChanges.delete(change.uid);
            expunges.push({ kind: 'expunge', seq });
          }
        } else if (change.kind === 'append') {
          if (change.uid >= this.uidNext) {
            this.uids.push(change.uid);
            this.flags.set(change.uid, change.flags ?? []);
            this.modseqs.set(change.uid, change.modseq);
            this.recent.add(change.uid);
            this.uidNext = change.uid + 1;
          }
        } else if (this.flags.has(change.uid) && change.modseq > (this.modseqs.get(change.uid) ?? 0)) {
          this.flags.set(change.uid, change.flags ?? []);
          this.modseqs.set(change.uid, change.modseq);
          // Messages new in this sync are announced by EXISTS; a client fetches their flags.
          if (this.seqOf(change.uid) <= before) flagChanges.set(change.uid, change.modseq);
        }
        this.highestModseq = change.modseq;
      }
      if (changes.length < CHANGE_PAGE) break;
    }
    const updates: MailboxUpdate[] = [...expunges];
    if (this.uids.length > before - expunges.length)
      updates.push({ kind: 'exists', count: this.uids.length });
    for (const [uid, modseq] of flagChanges) {
      const seq = this.seqOf(uid);
      if (seq) updates.push({ kind: 'flags', seq, uid, flags: this.flags.get(uid)!, modseq });
    }
    return updates;
  }
}
