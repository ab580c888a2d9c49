import type { MailStore, MessageMeta } from '../store/types.js';
import type { SelectedMailbox } from './selected.js';

const PAGE = 500;

/**
 * Message metadata (structure, summary, size, dates) never changes once a message is
 * stored; only its flags do, and sessions take flags from their own view. So one cache
 * per process serves every session: FETCH ENVELOPE of the newest twenty, or a SEARCH
 * SUBJECT over the mailbox, parse each message's stored structure once rather than on
 * every command. Entries are keyed by mailbox id and UID (UIDs are never reused) and the
 * least recently used go first.
 */
export class MessageMetaCache {
  private readonly entries = new Map<string, MessageMeta>();

  constructor(
    private readonly store: Pick<MailStore, 'listMessages'>,
    private readonly capacity = 20_000,
  ) {}

  /**
   * Metadata of the given UIDs (ascending) of the selected mailbox, page by page, so a
   * FETCH of a huge mailbox never holds it all. Expunged UIDs are simply absent.
   */
  async *pages(view: SelectedMailbox, uids: readonly number[]): AsyncGenerator<Map<number, MessageMeta>> {
    for (let i = 0; i < uids.length; i += PAGE) {
      const batch = uids.slice(i, i + PAGE);
      const found = new Map<number, MessageMeta>();
      const missing: number[] = [];
      for (const uid of batch) {
        const hit = this.get(view.mailbox.id, uid);
        if (hit) found.set(uid, hit);
        else missing.push(uid);
      }
      if (missing.length) {
        const wanted = new Set(missing);
        let from = missing[0]!;
        const to = missing[missing.length - 1]!;
        while (from <= to) {
          const page = await this.store.listMessages(view.account, view.name, {
            fromUid: from,
            toUid: to,
            limit: PAGE,
          });
          for (const meta of page) {
            if (!wanted.has(meta.uid)) continue;
            found.set(meta.uid, meta);
            this.put(view.mailbox.id, meta);
          }
          if (page.length < PAGE) break;
          from = page[page.length - 1]!.uid + 1;
        }
      }
      // In UID order, whatever came from the cache and what from the store.
      yield new Map([...found].sort((a, b) => a[0] - b[0]));
    }
  }

  private get(mailboxId: string, uid: number): MessageMeta | undefined {
    const key = `${mailboxId}:${uid}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  private put(mailboxId: string, meta: MessageMeta) {
    this.entries.set(`${mailboxId}:${meta.uid}`, meta);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
