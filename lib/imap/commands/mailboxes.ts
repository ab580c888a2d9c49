import { MAX_MAILBOXES_PER_ACCOUNT } from '../limits.js';
import { AUTHENTICATED, type CommandContext, type CommandSpec } from '../command.js';
import { astring as astringArg, atom, list, noMore } from '../args.js';
import { bad, no, type ImapError } from '../errors.js';
import { astring, type Wire } from '../encode.js';
import { decodeMailboxName, encodeMailboxName } from '../mailbox-name.js';
import type { ImapSession } from '../session.js';
import type { ImapArg } from '../types.js';
import { StoreError } from '../../store/errors.js';
import type { SpecialUse } from '../../store/types.js';

/*
 * CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.3-§6.3.7), with the
 * response codes of RFC 5530 and CREATE-SPECIAL-USE (RFC 6154 §3). Also the helpers that
 * LIST, STATUS and APPEND share: names in and out, and store errors as tagged NO replies.
 */

/** The one hierarchy delimiter (NAMESPACE answers the same). */
export const DELIMITER = '/';

/** RFC 6154 §2 attributes a mailbox can carry (the store keeps one per mailbox). */
const SPECIAL_USES: readonly SpecialUse[] = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'];

/** A mailbox name argument as the store spells it: mUTF-7 decoded, or UTF-8 after ENABLE UTF8=ACCEPT. */
export function mailboxArg(session: ImapSession, arg: ImapArg | undefined): string {
  return decodeMailboxName(astringArg(arg, 'mailbox name'), session.enabled.utf8);
}

/**
 * A name for a new mailbox (CREATE, RENAME target). Without UTF8=ACCEPT the wire form must be
 * valid modified UTF-7 (RFC 3501 §5.1.3), so that LIST gives back the octets the client sent:
 * "a&b" or raw 8-bit names would come back spelt differently.
 */
function newMailboxArg(session: ImapSession, arg: ImapArg | undefined): string {
  const wire = astringArg(arg, 'mailbox name');
  const name = decodeMailboxName(wire, session.enabled.utf8);
  if (!session.enabled.utf8 && encodeMailboxName(name, false) !== wire) {
    throw no('Mailbox name is not valid modified UTF-7', 'CANNOT');
  }
  return name;
}

/** A mailbox name as the session reads it: an atom when it can be, else a (UTF-8) string. */
export function mailboxWire(session: ImapSession, name: string): Wire {
  const utf8 = session.enabled.utf8;
  return astring(encodeMailboxName(name, utf8), { utf8 });
}

/** RFC 3501 §5.1: INBOX is case-insensitive, also as the first level of its children. */
export function isInbox(name: string): boolean {
  return name.toUpperCase() === 'INBOX';
}

/** A name inside response text, which is 7-bit (RFC 3501 §9 TEXT-CHAR): its mUTF-7 form, quoted. */
export function show(name: string): string {
  const ascii = encodeMailboxName(name, false);
  return JSON.stringify(ascii.length > 100 ? `${ascii.slice(0, 100)}...` : ascii);
}

/**
 * Turns a store error into a tagged NO with an RFC 5530 code; the store's own text stays in
 * the log (STYLE.md: backend text never reaches the wire). Anything else is rethrown, and the
 * dispatcher answers NO [SERVERBUG].
 */
export function storeFailure(
  session: ImapSession,
  err: unknown,
  name: string,
  notFoundCode: 'NONEXISTENT' | 'TRYCREATE' = 'NONEXISTENT',
): ImapError {
  if (!(err instanceof StoreError)) throw err;
  session.log.debug({ err, mailbox: name }, 'store refused');
  switch (err.code) {
    case 'NOT_FOUND':
      return no(`No mailbox ${show(name)}`, notFoundCode);
    case 'ALREADY_EXISTS':
      return no(`Mailbox ${show(name)} already exists`, 'ALREADYEXISTS');
    case 'INVALID_NAME':
      return no(`Invalid mailbox name ${show(name)}`, 'CANNOT');
    case 'INVALID_ARGUMENT':
      return bad('Invalid argument');
    case 'LIMIT':
      return no('Limit reached', 'LIMIT');
    case 'CONFLICT':
      return no('Mailbox changed meanwhile, try again', 'INUSE');
    default:
      throw err;
  }
}

/** CREATE parameters (RFC 4466 §2.2): only `USE (<special-use>)` (RFC 6154 §3). */
function createSpecialUse(arg: ImapArg | undefined): SpecialUse | undefined {
  if (!arg) return undefined;
  const items = list(arg, 'CREATE parameters');
  let specialUse: SpecialUse | undefined;
  for (let i = 0; i < items.length; i += 2) {
    const param = atom(items[i], 'CREATE parameter');
    if (param !== 'USE') throw bad(`Unknown CREATE parameter ${param}`);
    const uses = list(items[i + 1], 'USE attributes');
    for (const use of uses) {
      if (use.type !== 'atom') throw bad('USE attributes must be atoms');
      const known = SPECIAL_USES.find((s) => s.toLowerCase() === use.value.toLowerCase());
      // RFC 6154 §3: a special use the server cannot give: NO [USEATTR], nothing created.
      if (!known) throw no(`Special use ${use.value} is not supported`, 'USEATTR');
      if (specialUse && specialUse !== known)
        throw no('A mailbox has at most one special use here', 'USEATTR');
      specialUse = known;
    }
  }
  return specialUse;
}

/**
 * Whether a rename or delete of `name` takes the session's selected mailbox away: the
 * mailbox itself, or (not for INBOX, whose children stay, RFC 3501 §6.3.5) one below it.
 */
function touchesSelected(session: ImapSession, name: string): boolean {
  const selected = session.selected;
  if (!selected) return false;
  if (selected.name === name) return true;
  return name !== 'INBOX' && selected.name.startsWith(name + DELIMITER);
}

/**
 * The selected mailbox is gone or has another name: the session's view cannot follow it, so
 * it goes back to the authenticated state and says so with [CLOSED] (RFC 7162 §3.2.11), the
 * code clients already know from SELECT. Dovecot disconnects instead (`* BYE`).
 */
function closeSelected(session: ImapSession, why: string) {
  session.deps.notifier.unsubscribeAll(session);
  session.setState({ kind: 'authenticated', account: session.account! });
  session.send(`* OK [CLOSED] ${why}`);
}

/**
 * CREATE (RFC 3501 §6.3.3). A trailing delimiter only declares that children will follow
 * ("foo/" creates "foo"). Missing parents are not created (RFC 3501 says SHOULD): the store
 * has no directories, and LIST shows such a parent as \Noselect / \NonExistent.
 */
export const create: CommandSpec = {
  name: 'CREATE',
  states: AUTHENTICATED,
  async handle({ session, args }: CommandContext) {
    let name = newMailboxArg(session, args[0]);
    const specialUse = createSpecialUse(args[1]);
    noMore(args, 2, 'CREATE');
    if (name.endsWith(DELIMITER)) name = name.slice(0, -DELIMITER.length);
    if (isInbox(name)) throw no('INBOX always exists', 'ALREADYEXISTS');
    if ((await session.deps.store.listMailboxes(session.account!)).length >= MAX_MAILBOXES_PER_ACCOUNT) {
      throw no(`At most ${MAX_MAILBOXES_PER_ACCOUNT} mailboxes per account`, 'LIMIT');
    }
    try {
      await session.deps.store.createMailbox(session.account!, name, specialUse ? { specialUse } : {});
    } catch (err) {
      throw storeFailure(session, err, name);
    }
    return { text: 'CREATE completed' };
  },
};

/** DELETE (RFC 3501 §6.3.4): children stay, they are mailboxes of their own. */
export const deleteMailbox: CommandSpec = {
  name: 'DELETE',
  states: AUTHENTICATED,
  async handle({ session, args }: CommandContext) {
    const name = mailboxArg(session, args[0]);
    noMore(args, 1, 'DELETE');
    // RFC 3501 §6.3.4: "It is an error to attempt to delete INBOX".
    if (isInbox(name)) throw no('INBOX cannot be deleted', 'CANNOT');
    const box = await session.deps.store.getMailbox(session.account!, name);
    if (!box) throw no(`No mailbox ${show(name)}`, 'NONEXISTENT');
    try {
      await session.deps.store.deleteMailbox(session.account!, box.name);
    } catch (err) {
      throw storeFailure(session, err, name);
    }
    if (session.selected?.name === box.name) closeSelected(session, 'Selected mailbox was deleted');
    return { text: 'DELETE completed' };
  },
};

/**
 * RENAME (RFC 3501 §6.3.5): children move with their parent; renaming INBOX moves its
 * messages into the new mailbox and leaves INBOX empty (the store does both).
 */
export const rename: CommandSpec = {
  name: 'RENAME',
  states: AUTHENTICATED,
  async handle({ session, args }: CommandContext) {
    const from = mailboxArg(session, args[0]);
    let to = newMailboxArg(session, args[1]);
    noMore(args, 2, 'RENAME');
    if (to.endsWith(DELIMITER)) to = to.slice(0, -DELIMITER.length);
    const source = await session.deps.store.getMailbox(session.account!, from);
    if (!source) throw no(`No mailbox ${show(from)}`, 'NONEXISTENT');
    if (isInbox(to)) throw no('INBOX already exists', 'ALREADYEXISTS');
    if (source.name === to) throw no(`Mailbox ${show(to)} already exists`, 'ALREADYEXISTS');
    if (source.name !== 'INBOX' && to.startsWith(source.name + DELIMITER)) {
      throw no('Cannot rename a mailbox into itself', 'CANNOT');
    }
    const closes = touchesSelected(session, source.name);
    try {
      await session.deps.store.renameMailbox(session.account!, source.name, to);
    } catch (err) {
      throw storeFailure(session, err, err instanceof StoreError && err.code === 'NOT_FOUND' ? from : to);
    }
    if (closes) closeSelected(session, 'Selected mailbox was renamed');
    return { text: 'RENAME completed' };
  },
};

async function subscribe(ctx: CommandContext, subscribed: boolean) {
  const { session, args } = ctx;
  const name = mailboxArg(session, args[0]);
  noMore(args, 1, ctx.command.name);
  try {
    await session.deps.store.setSubscribed(session.account!, name, subscribed);
  } catch (err) {
    throw storeFailure(session, err, name);
  }
}

/**
 * SUBSCRIBE (RFC 3501 §6.3.6). The RFC lets a server subscribe names that do not exist (and
 * Dovecot does); the store keeps the subscription on the mailbox, so here the mailbox must
 * exist: NO [NONEXISTENT] otherwise. DELETE drops the subscription with the mailbox.
 */
export const subscribeMailbox: CommandSpec = {
  name: 'SUBSCRIBE',
  states: AUTHENTICATED,
  async handle(ctx) {
    await subscribe(ctx, true);
    return { text: 'SUBSCRIBE completed' };
  },
};

/** UNSUBSCRIBE (RFC 3501 §6.3.7); a name that is not a mailbox: NO [NONEXISTENT]. */
export const unsubscribeMailbox: CommandSpec = {
  name: 'UNSUBSCRIBE',
  states: AUTHENTICATED,
  async handle(ctx) {
    await subscribe(ctx, false);
    return { text: 'UNSUBSCRIBE completed' };
  },
};
