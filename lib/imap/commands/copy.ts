import { SELECTED, type CommandContext, type CommandSpec } from '../command.js';
import { astring } from '../args.js';
import { no } from '../errors.js';
import { targetUids } from '../messages.js';
import { decodeMailboxName } from '../mailbox-name.js';
import { formatSequenceSet } from '../sequence.js';
import { MAX_BATCH } from '../../store/types.js';

/** Copies the messages the set names into the target mailbox; returns the COPYUID data (RFC 4315). */
async function copyTo(ctx: CommandContext): Promise<{ code: string | undefined; moved: number[] }> {
  const { session, args, uid } = ctx;
  const view = session.selected!;
  const uids = targetUids(session, args[0], uid);
  const target = decodeMailboxName(astring(args[1], 'mailbox name'), session.enabled.utf8);
  const box = await session.deps.store.getMailbox(view.account, target);
  if (!box) throw no(`No mailbox ${JSON.stringify(target)}`, 'TRYCREATE');
  const from: number[] = [];
  const to: number[] = [];
  let uidValidity = box.uidValidity;
  for (let i = 0; i < uids.length; i += MAX_BATCH) {
    const result = await session.deps.store.copyMessages(
      view.account,
      view.name,
      uids.slice(i, i + MAX_BATCH),
      box.name,
    );
    uidValidity = result.uidValidity;
    for (const [source, copy] of result.mapping) {
      from.push(source);
      to.push(copy);
    }
  }
  if (to.length) session.deps.notifier.touch(view.account, box.name);
  const code = from.length
    ? `COPYUID ${uidValidity} ${formatSequenceSet(from)} ${formatSequenceSet(to)}`
    : undefined;
  return { code, moved: from };
}

/** COPY and UID COPY (RFC 3501 §6.4.7) with COPYUID (RFC 4315 §3). */
export const copy: CommandSpec = {
  name: 'COPY',
  states: SELECTED,
  uid: true,
  async handle(ctx) {
    const { code } = await copyTo(ctx);
    return code ? { code, text: 'COPY completed' } : { text: 'COPY completed' };
  },
};

/**
 * MOVE and UID MOVE (RFC 6851): copy, then expunge the originals. A crash in between
 * leaves the message in both mailboxes, never in neither. COPYUID comes in an untagged OK
 * before the EXPUNGEs (RFC 6851 §4.3), which the dispatcher's sync then sends.
 */
export const move: CommandSpec = {
  name: 'MOVE',
  states: SELECTED,
  uid: true,
  async handle(ctx) {
    const view = ctx.session.selected!;
    if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
    const { code, moved } = await copyTo(ctx);
    if (code) ctx.session.send(`* OK [${code}] Moved`);
    for (let i = 0; i < moved.length; i += MAX_BATCH) {
      await ctx.session.deps.store.expunge(view.account, view.name, moved.slice(i, i + MAX_BATCH));
    }
    if (moved.length) ctx.session.deps.notifier.touch(view.account, view.name);
    return { text: 'MOVE completed' };
  },
};
