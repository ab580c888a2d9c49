import { SELECTED, type CommandSpec } from '../command.js';
import { atom, list, number } from '../args.js';
import { bad, no } from '../errors.js';
import { targetUids } from '../messages.js';
import { formatSequenceSet } from '../sequence.js';
import { MAX_BATCH, type FlagOperation } from '../../store/types.js';
import type { ImapArg } from '../types.js';

const OPERATIONS: Record<string, FlagOperation> = { FLAGS: 'replace', '+FLAGS': 'add', '-FLAGS': 'remove' };

function flagList(args: ImapArg[]): string[] {
  // RFC 3501: a parenthesised list, or (a common leniency) flags as bare atoms.
  const items = args.length === 1 && args[0]!.type === 'list' ? list(args[0], 'flag list') : args;
  return items.map((item) => {
    if (item.type !== 'atom') throw bad('Flags must be atoms');
    return item.value;
  });
}

/** STORE and UID STORE (RFC 3501 §6.4.6), with UNCHANGEDSINCE (RFC 7162 §3.1.3). */
export const store: CommandSpec = {
  name: 'STORE',
  states: SELECTED,
  uid: true,
  expungeSafe: (uid) => uid,
  async handle({ session, args, uid }) {
    const view = session.selected!;
    if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
    const uids = targetUids(session, args[0], uid);
    let at = 1;
    let unchangedSince: number | undefined;
    if (args[1]?.type === 'list') {
      const modifiers = args[1].items;
      if (atom(modifiers[0], 'STORE modifier') !== 'UNCHANGEDSINCE') throw bad('Unknown STORE modifier');
      unchangedSince = number(modifiers[1], 'UNCHANGEDSINCE');
      session.enabled.condstore = true;
      at = 2;
    }
    const item = atom(args[at], 'STORE data item');
    const silent = item.endsWith('.SILENT');
    const operation = OPERATIONS[silent ? item.slice(0, -'.SILENT'.length) : item];
    if (!operation) throw bad(`Unknown STORE data item ${item}`);
    const flags = flagList(args.slice(at + 1)).filter((f) => f.toLowerCase() !== '\\recent');

    const changed = new Set<number>();
    const skipped: number[] = [];
    for (let i = 0; i < uids.length; i += MAX_BATCH) {
      const batch = uids.slice(i, i + MAX_BATCH);
      const result = await session.deps.store.updateFlags(view.account, view.name, batch, operation, flags, {
        ...(unchangedSince !== undefined ? { unchangedSince } : {}),
      });
      for (const update of result.updated) {
        view.noteFlags(update.uid, update.flags, update.modseq);
        changed.add(update.uid);
      }
      skipped.push(...result.skipped);
    }
    if (changed.size) session.deps.notifier.touch(view.account, view.name);

    const skippedSet = new Set(skipped);
    for (const u of uids) {
      if (skippedSet.has(u)) continue;
      // .SILENT suppresses the FETCH, except that CONDSTORE clients must learn new MODSEQs (RFC 7162 §3.1.3).
      if (silent && !(session.enabled.condstore && changed.has(u))) continue;
      const seq = view.seqOf(u);
      if (!seq) continue;
      const parts = [`FLAGS (${view.flags.get(u)!.join(' ')})`];
      if (uid) parts.unshift(`UID ${u}`);
      if (session.enabled.condstore) parts.push(`MODSEQ (${view.modseqs.get(u)})`);
      session.send(`* ${seq} FETCH (${parts.join(' ')})`);
    }
    if (skipped.length) {
      const numbers = uid ? skipped : skipped.map((u) => view.seqOf(u)).filter(Boolean);
      return {
        code: `MODIFIED ${formatSequenceSet(numbers)}`,
        text: 'Conditional STORE failed for some messages',
      };
    }
  },
};
