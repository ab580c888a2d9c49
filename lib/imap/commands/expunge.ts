import { SELECTED, type CommandSpec } from '../command.js';
import { no } from '../errors.js';
import { MAX_BATCH } from '../../store/types.js';
import type { ImapSession } from '../session.js';
import { parseSequenceSet, resolveSequenceSet } from '../sequence.js';
import { astring } from '../args.js';

/**
 * Removes the \Deleted messages of the selected mailbox (only those in `uids` when given,
 * UID EXPUNGE of RFC 4315), in store batches. With announce, the EXPUNGE responses follow
 * from the dispatcher's sync; CLOSE does not announce (RFC 3501 §6.4.2).
 */
export async function expungeDeleted(session: ImapSession, uids: Set<number> | undefined, announce: boolean) {
  const view = session.selected!;
  if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  const doomed = view
    .uidList()
    .filter((uid) => view.flags.get(uid)!.includes('\\Deleted') && (!uids || uids.has(uid)));
  for (let i = 0; i < doomed.length; i += MAX_BATCH) {
    await session.deps.store.expunge(view.account, view.name, doomed.slice(i, i + MAX_BATCH));
  }
  if (doomed.length) session.deps.notifier.touch(view.account, view.name);
  if (!announce) {
    // The view must still move on, or the next SELECT state would be stale; nothing is sent.
    await view.sync(session.deps.store, true);
  }
}

/** EXPUNGE and UID EXPUNGE (RFC 3501 §6.4.3, RFC 4315 §2.1). */
export const expunge: CommandSpec = {
  name: 'EXPUNGE',
  states: SELECTED,
  uid: true,
  async handle({ session, args, uid }) {
    let only: Set<number> | undefined;
    if (uid) {
      const view = session.selected!;
      const set = parseSequenceSet(astring(args[0], 'UID set'));
      const max = view.uids[view.uids.length - 1] ?? 0;
      only = new Set(view.uids.filter((u) => resolveSequenceSet(set, { max })(u)));
    }
    await expungeDeleted(session, only, true);
  },
};
