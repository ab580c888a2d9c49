import { SELECTED, type CommandSpec } from '../command.js';
import { bad, no } from '../errors.js';
import {
  BadCharsetError,
  SearchSyntaxError,
  evaluateSearch,
  formatEsearchData,
  parseSearch,
  resultToSave,
  usesModseq,
  type SearchCandidate,
  type SearchNode,
} from '../search.js';
import { SequenceError } from '../sequence.js';
import type { MessageMeta } from '../../store/types.js';
import type { MessageSummary } from '../../mail/types.js';
import { EMPTY_ENVELOPE } from '../../mail/envelope.js';
import type { ImapSession } from '../session.js';

/** Whether any key needs more than flags, UIDs and MODSEQs (dates, sizes, addresses, text). */
function needsMeta(node: SearchNode): boolean {
  switch (node.type) {
    case 'and':
      return node.nodes.some(needsMeta);
    case 'or':
      return needsMeta(node.left) || needsMeta(node.right);
    case 'not':
      return needsMeta(node.node);
    case 'larger':
    case 'smaller':
    case 'date':
    case 'text':
    case 'header':
      return true;
    default:
      return false;
  }
}

const EMPTY_SUMMARY: MessageSummary = {
  subject: '',
  from: '',
  to: '',
  cc: '',
  date: null,
  messageId: null,
  attachments: [],
};

/** The candidates of the selected mailbox; message metadata is read (in pages) only when a key needs it. */
async function candidates(session: ImapSession, withMeta: boolean): Promise<SearchCandidate[]> {
  const view = session.selected!;
  const meta = new Map<number, MessageMeta>();
  if (withMeta && view.exists) {
    for await (const page of session.deps.metaCache.pages(view, view.uidList())) {
      for (const [uid, m] of page) meta.set(uid, m);
    }
  }
  return view.uidList().map((uid, i) => {
    const m = meta.get(uid);
    return {
      seq: i + 1,
      uid,
      flags: view.flags.get(uid)!,
      modseq: view.modseqs.get(uid)!,
      internalDate: m?.internalDate ?? 0,
      size: m?.size ?? 0,
      summary: m?.summary ?? EMPTY_SUMMARY,
      envelope: m?.structure.envelope ?? EMPTY_ENVELOPE,
      recent: view.recent.has(uid),
    };
  });
}

/** SEARCH and UID SEARCH (RFC 3501 §6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182), MODSEQ (RFC 7162). */
export const search: CommandSpec = {
  name: 'SEARCH',
  states: SELECTED,
  uid: true,
  expungeSafe: (uid) => uid,
  async handle({ session, args, uid, command }) {
    const view = session.selected!;
    let parsed;
    try {
      parsed = parseSearch(args, { utf8Accepted: session.enabled.utf8 });
    } catch (err) {
      if (err instanceof BadCharsetError) throw no(err.message, 'BADCHARSET (UTF-8 US-ASCII)');
      if (err instanceof SearchSyntaxError || err instanceof SequenceError) throw bad(err.message);
      throw err;
    }
    const all = await candidates(session, needsMeta(parsed.query));
    const seqs = await evaluateSearch(parsed.query, all, {
      maxSeq: view.exists,
      maxUid: view.uids[view.uids.length - 1] ?? 0,
      saved: session.savedSearch,
      loadText: async (u) => {
        const message = await session.deps.store.getMessage(view.account, view.name, u);
        return { headerText: message?.headerText ?? '', bodyText: message?.bodyText ?? '' };
      },
    });
    const numbers = seqs.map((seq) => (uid ? view.uids[seq - 1]! : seq));
    const withModseq = usesModseq(parsed.query);
    if (withModseq) session.enabled.condstore = true;
    const highest =
      withModseq && seqs.length
        ? Math.max(...seqs.map((seq) => view.modseqs.get(view.uids[seq - 1]!)!))
        : undefined;

    if (parsed.returnOptions) {
      const options = parsed.returnOptions;
      if (options.includes('SAVE')) {
        session.savedSearch = resultToSave(
          seqs.map((seq) => view.uids[seq - 1]!),
          options,
        );
      }
      if (options.length > 1 || options[0] !== 'SAVE') {
        const data = formatEsearchData(numbers, options, highest);
        session.send(`* ESEARCH (TAG "${command.tag}")${uid ? ' UID' : ''}${data ? ` ${data}` : ''}`);
      }
      return;
    }
    session.send(
      `* SEARCH${numbers.map((n) => ` ${n}`).join('')}${highest !== undefined ? ` (MODSEQ ${highest})` : ''}`,
    );
  },
};
