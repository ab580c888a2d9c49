import { AUTHENTICATED, SELECTED, type CommandContext, type CommandSpec } from '../command.js';
import { astring, atom, list, number } from '../args.js';
import { bad, no } from '../errors.js';
import { decodeMailboxName } from '../mailbox-name.js';
import { SelectedMailbox } from '../selected.js';
import { formatSequenceSet } from '../sequence.js';
import { expungeDeleted } from './expunge.js';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

interface QresyncParams {
  uidValidity: number;
  modseq: number;
}

/** SELECT/EXAMINE parameters (RFC 4466 §2.1): (CONDSTORE) and (QRESYNC (uidvalidity modseq ...)). */
function selectParams(ctx: CommandContext): { condstore: boolean; qresync?: QresyncParams } {
  const raw = ctx.args[1];
  if (!raw) return { condstore: false };
  const items = list(raw, 'SELECT parameters');
  let condstore = false;
  let qresync: QresyncParams | undefined;
  for (let i = 0; i < items.length; i++) {
    const name = atom(items[i], 'SELECT parameter');
    if (name === 'CONDSTORE') condstore = true;
    else if (name === 'QRESYNC') {
      if (!ctx.session.enabled.qresync) throw bad('QRESYNC must be enabled first (RFC 7162 §3.2.5)');
      const params = list(items[++i], 'QRESYNC parameters');
      qresync = { uidValidity: number(params[0], 'UIDVALIDITY', 1), modseq: number(params[1], 'MODSEQ', 1) };
    } else throw bad(`Unknown SELECT parameter ${name}`);
  }
  return { condstore, qresync };
}

async function open(ctx: CommandContext, readOnly: boolean) {
  const { session } = ctx;
  const account = session.account!;
  const params = selectParams(ctx);
  // RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
  if (session.state.kind === 'selected') {
    session.setState({ kind: 'authenticated', account });
    session.send('* OK [CLOSED] Previous mailbox closed');
  }
  session.deps.notifier.unsubscribeAll(session);
  const name = decodeMailboxName(astring(ctx.args[0], 'mailbox name'), session.enabled.utf8);
  const mailbox = await session.deps.store.getMailbox(account, name);
  if (!mailbox) throw no(`No mailbox ${JSON.stringify(name)}`, 'NONEXISTENT');
  if (params.condstore) session.enabled.condstore = true;

  const view = await SelectedMailbox.open(session.deps.store, account, mailbox, readOnly);
  const keywords = new Set<string>();
  let firstUnseen = 0;
  for (let i = 0; i < view.exists; i++) {
    const flags = view.flagsAt(i + 1);
    for (const flag of flags) if (!flag.startsWith('\\')) keywords.add(flag);
    if (!firstUnseen && !flags.includes('\\Seen')) firstUnseen = i + 1;
  }
  const flags = [...SYSTEM_FLAGS, ...keywords].join(' ');
  session.send(`* FLAGS (${flags})`);
  session.send(`* OK [PERMANENTFLAGS ${readOnly ? '()' : `(${flags} \\*)`}] Flags permitted`);
  session.send(`* ${view.exists} EXISTS`);
  session.send('* 0 RECENT');
  if (firstUnseen) session.send(`* OK [UNSEEN ${firstUnseen}] First unseen`);
  session.send(`* OK [UIDVALIDITY ${view.uidValidity}] UIDs valid`);
  session.send(`* OK [UIDNEXT ${view.uidNext}] Predicted next UID`);
  session.send(`* OK [HIGHESTMODSEQ ${view.highestModseq}] Highest`);

  if (params.qresync && params.qresync.uidValidity === view.uidValidity) {
    // RFC 7162 §3.2.5.1: what changed since the client's MODSEQ, expunges as VANISHED (EARLIER).
    const vanished: number[] = [];
    for (let since = params.qresync.modseq; ;) {
      const changes = await session.deps.store.changesSince(account, mailbox.name, since, 1000);
      for (const change of changes) if (change.kind === 'expunge') vanished.push(change.uid);
      if (changes.length < 1000) break;
      since = changes[changes.length - 1]!.modseq;
    }
    if (vanished.length)
      session.send(`* VANISHED (EARLIER) ${formatSequenceSet([...new Set(vanished)].sort((a, b) => a - b))}`);
    view.uids.forEach((uid, i) => {
      const modseq = view.modseqs.get(uid)!;
      if (modseq > params.qresync!.modseq) {
        session.send(
          `* ${i + 1} FETCH (UID ${uid} FLAGS (${view.flags.get(uid)!.join(' ')}) MODSEQ (${modseq}))`,
        );
      }
    });
  }
  session.setState({ kind: 'selected', account, mailbox: view });
  return {
    code: readOnly ? 'READ-ONLY' : 'READ-WRITE',
    text: `${readOnly ? 'EXAMINE' : 'SELECT'} completed`,
  };
}

export const select: CommandSpec = {
  name: 'SELECT',
  states: AUTHENTICATED,
  handle: (ctx) => open(ctx, false),
};

export const examine: CommandSpec = {
  name: 'EXAMINE',
  states: AUTHENTICATED,
  handle: (ctx) => open(ctx, true),
};

function deselect(ctx: CommandContext) {
  ctx.session.deps.notifier.unsubscribeAll(ctx.session);
  ctx.session.setState({ kind: 'authenticated', account: ctx.session.account! });
}

/** CLOSE (RFC 3501 §6.4.2): silently expunges \Deleted messages (read-write only), then deselects. */
export const close: CommandSpec = {
  name: 'CLOSE',
  states: SELECTED,
  async handle(ctx) {
    const view = ctx.session.selected!;
    if (!view.readOnly) await expungeDeleted(ctx.session, undefined, false);
    deselect(ctx);
  },
};

/** UNSELECT (RFC 3691): deselects without expunging. */
export const unselect: CommandSpec = {
  name: 'UNSELECT',
  states: SELECTED,
  async handle(ctx) {
    deselect(ctx);
  },
};
