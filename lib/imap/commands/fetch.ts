import { SELECTED, type CommandSpec } from '../command.js';
import { astring, atom, list, number } from '../args.js';
import { bad, no } from '../errors.js';
import { targetUids } from '../messages.js';
import { encodeBodyStructure, encodeEnvelope, quoted, type Wire } from '../encode.js';
import {
  binarySize,
  encodeBinarySizeResponse,
  encodeSectionResponse,
  isSectionAttribute,
  parseSection,
  readSection,
  SectionError,
  UnknownCteError,
  type SectionSpec,
} from '../fetch-section.js';
import { formatSequenceSet, parseSequenceSet, resolveSequenceSet } from '../sequence.js';
import type { ImapSession } from '../session.js';
import { MAX_BATCH, type MessageMeta } from '../../store/types.js';
import type { ImapArg } from '../types.js';

type Simple =
  'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'MODSEQ';

interface FetchPlan {
  simple: Simple[];
  sections: SectionSpec[];
  /** Something beyond UID, FLAGS and MODSEQ: the message metadata must be read. */
  needsMeta: boolean;
  setsSeen: boolean;
}

const MACROS: Record<string, Simple[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};
const SIMPLE = new Set<string>([
  'UID',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'BODY',
  'MODSEQ',
]);

function plan(itemsArg: ImapArg | undefined, uid: boolean): FetchPlan {
  if (!itemsArg) throw bad('FETCH needs data items');
  const items = itemsArg.type === 'list' ? itemsArg.items : [itemsArg];
  if (items.length === 0) throw bad('FETCH needs data items');
  const simple = new Set<Simple>(uid ? ['UID'] : []);
  const sections: SectionSpec[] = [];
  for (const item of items) {
    if (item.type !== 'atom') throw bad('FETCH data items are atoms');
    const name = item.value.toUpperCase();
    if (isSectionAttribute(item)) {
      try {
        sections.push(parseSection(item));
      } catch (err) {
        if (err instanceof SectionError) throw bad(err.message);
        throw err;
      }
    } else if (MACROS[name] && itemsArg.type !== 'list') {
      MACROS[name]!.forEach((m) => simple.add(m));
    } else if (SIMPLE.has(name)) {
      simple.add(name as Simple);
    } else {
      throw bad(`Unknown FETCH data item ${name.slice(0, 40)}`);
    }
  }
  const list = [...simple];
  return {
    simple: list,
    sections,
    needsMeta: sections.length > 0 || list.some((s) => s !== 'UID' && s !== 'FLAGS' && s !== 'MODSEQ'),
    setsSeen: sections.some((s) => s.setsSeen && !s.peek),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3501 date-time: "26-Nov-2026 12:00:00 +0000". */
export function internalDate(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** `* VANISHED (EARLIER) uids`: the UIDs of the set expunged since the client's MODSEQ (RFC 7162 §3.2.6). */
async function sendVanishedEarlier(session: ImapSession, setArg: ImapArg | undefined, since: number) {
  const view = session.selected!;
  const set = parseSequenceSet(astring(setArg, 'UID set'));
  const inSet = resolveSequenceSet(set, { max: view.uidNext - 1, saved: session.savedSearch });
  const gone: number[] = [];
  for (let from = since; ;) {
    const changes = await session.deps.store.changesSince(view.account, view.name, from, 1000);
    for (const change of changes) if (change.kind === 'expunge' && inSet(change.uid)) gone.push(change.uid);
    if (changes.length < 1000) break;
    from = changes[changes.length - 1]!.modseq;
  }
  if (gone.length) session.send(`* VANISHED (EARLIER) ${formatSequenceSet(gone)}`);
}

/** FETCH and UID FETCH (RFC 3501 §6.4.5), BINARY (RFC 3516), CHANGEDSINCE and MODSEQ (RFC 7162). */
export const fetch: CommandSpec = {
  name: 'FETCH',
  states: SELECTED,
  uid: true,
  expungeSafe: (uid) => uid,
  async handle({ session, args, uid }) {
    const view = session.selected!;
    let uids = targetUids(session, args[0], uid);
    const wanted = plan(args[1], uid);
    if (args[2]) {
      const modifiers = list(args[2], 'FETCH modifiers');
      if (atom(modifiers[0], 'FETCH modifier') !== 'CHANGEDSINCE') throw bad('Unknown FETCH modifier');
      const since = number(modifiers[1], 'CHANGEDSINCE');
      const vanished = modifiers[2] !== undefined && atom(modifiers[2], 'FETCH modifier') === 'VANISHED';
      if (vanished && (!uid || !session.enabled.qresync)) {
        throw bad('VANISHED needs UID FETCH and ENABLE QRESYNC (RFC 7162 §3.2.6)');
      }
      session.enabled.condstore = true;
      uids = uids.filter((u) => view.modseqs.get(u)! > since);
      if (!wanted.simple.includes('MODSEQ')) wanted.simple.push('MODSEQ');
      if (vanished) await sendVanishedEarlier(session, args[0], since);
    }
    if (wanted.simple.includes('MODSEQ')) session.enabled.condstore = true;

    // Fetching a body sets \Seen (RFC 3501 §6.4.5) unless the mailbox is read-only.
    const seenNow = new Set<number>();
    if (wanted.setsSeen && !view.readOnly) {
      const unseen = uids.filter((u) => !view.flags.get(u)!.includes('\\Seen'));
      for (let i = 0; i < unseen.length; i += MAX_BATCH) {
        const result = await session.deps.store.updateFlags(
          view.account,
          view.name,
          unseen.slice(i, i + MAX_BATCH),
          'add',
          ['\\Seen'],
        );
        for (const update of result.updated) {
          view.noteFlags(update.uid, update.flags, update.modseq);
          seenNow.add(update.uid);
        }
      }
      if (seenNow.size) session.deps.notifier.touch(view.account, view.name);
    }

    const utf8 = session.enabled.utf8;
    const write = async (u: number, meta: MessageMeta | undefined) => {
      const seq = view.seqOf(u);
      if (!seq) return;
      const out: Wire = [`* ${seq} FETCH (`];
      const add = (...chunks: Wire) => {
        if (out.length > 1) out.push(' ');
        out.push(...chunks);
      };
      for (const item of wanted.simple) {
        if (item === 'UID') add(`UID ${u}`);
        else if (item === 'FLAGS') add(`FLAGS (${view.flagsAt(seq).join(' ')})`);
        else if (item === 'MODSEQ') add(`MODSEQ (${view.modseqAt(seq)})`);
        else if (!meta) continue;
        else if (item === 'INTERNALDATE') add('INTERNALDATE ', ...quoted(internalDate(meta.internalDate)));
        else if (item === 'RFC822.SIZE') add(`RFC822.SIZE ${meta.size}`);
        else if (item === 'ENVELOPE') add('ENVELOPE ', ...encodeEnvelope(meta.structure.envelope, utf8));
        else if (item === 'BODYSTRUCTURE')
          add('BODYSTRUCTURE ', ...encodeBodyStructure(meta.structure.body, true, utf8));
        else if (item === 'BODY') add('BODY ', ...encodeBodyStructure(meta.structure.body, false, utf8));
      }
      if (seenNow.has(u) && !wanted.simple.includes('FLAGS')) add(`FLAGS (${view.flagsAt(seq).join(' ')})`);
      if (meta) {
        for (const spec of wanted.sections) {
          try {
            if (spec.kind === 'BINARY.SIZE') {
              add(
                ...encodeBinarySizeResponse(
                  spec,
                  await binarySize(session.deps.blobs, meta.blobKey, meta.structure, spec),
                ),
              );
            } else {
              add(
                ...encodeSectionResponse(
                  spec,
                  await readSection(session.deps.blobs, meta.blobKey, meta.structure, spec),
                ),
              );
            }
          } catch (err) {
            if (err instanceof UnknownCteError) throw no(err.message, 'UNKNOWN-CTE');
            throw err;
          }
        }
      }
      out.push(')');
      session.send(out);
      await session.flush();
    };

    if (!wanted.needsMeta) {
      // UID, FLAGS and MODSEQ only (what a client syncing flags asks for 100,000 times):
      // straight from the view, one line a message, no store reads.
      const withUid = wanted.simple.includes('UID');
      const withFlags = wanted.simple.includes('FLAGS') || seenNow.size > 0;
      const withModseq = wanted.simple.includes('MODSEQ');
      for (const u of uids) {
        const seq = view.seqOf(u);
        if (!seq) continue;
        const items: string[] = [];
        if (withUid) items.push(`UID ${u}`);
        if (withFlags) items.push(`FLAGS (${view.flagsAt(seq).join(' ')})`);
        if (withModseq) items.push(`MODSEQ (${view.modseqAt(seq)})`);
        session.send(`* ${seq} FETCH (${items.join(' ')})`);
        if ((seq & 1023) === 0) await session.flush();
      }
      return;
    }
    const found = new Set<number>();
    for await (const page of session.deps.metaCache.pages(view, uids)) {
      for (const [u, meta] of page) {
        found.add(u);
        await write(u, meta);
      }
    }
    const missing = uids.filter((u) => !found.has(u));
    // A message expunged by another session after this one last synced: RFC 3501 §7.4.1 lets
    // the server answer NO rather than invent data.
    if (missing.length)
      throw no(`Some messages were expunged: ${formatSequenceSet(missing)}`, 'EXPUNGEISSUED');
  },
};
