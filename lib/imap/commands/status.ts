import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { list, noMore } from '../args.js';
import { bad, no } from '../errors.js';
import type { Wire } from '../encode.js';
import { APPEND_LIMIT } from '../limits.js';
import type { ImapSession } from '../session.js';
import type { ImapArg } from '../types.js';
import type { Mailbox } from '../../store/types.js';
import { mailboxArg, mailboxWire, show } from './mailboxes.js';

/**
 * What STATUS (RFC 3501 §6.3.10) and LIST RETURN (STATUS ...) (RFC 5819) can report, all read
 * from the one Mailbox record: HIGHESTMODSEQ from CONDSTORE (RFC 7162 §3.1.6), APPENDLIMIT
 * from RFC 7889 §4. SIZE (RFC 8438) and DELETED (RFC 9051) would need a pass over the
 * messages and are not offered.
 */
const ITEMS = [
  'MESSAGES',
  'RECENT',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'HIGHESTMODSEQ',
  'APPENDLIMIT',
] as const;
export type StatusItem = (typeof ITEMS)[number];

/** The parenthesised item list; BAD for an empty list or an unknown item. */
export function parseStatusItems(session: ImapSession, arg: ImapArg | undefined): StatusItem[] {
  const items = list(arg, 'STATUS items');
  if (items.length === 0) throw bad('STATUS needs at least one item');
  const out: StatusItem[] = [];
  for (const item of items) {
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    const known = ITEMS.find((i) => i === name);
    if (!known)
      throw bad(`Unknown STATUS item ${item.type === 'atom' ? item.value.slice(0, 40) : ''}`.trimEnd());
    if (!out.includes(known)) out.push(known);
  }
  // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command.
  if (out.includes('HIGHESTMODSEQ')) session.enabled.condstore = true;
  return out;
}

function value(mailbox: Mailbox, item: StatusItem): number {
  switch (item) {
    case 'MESSAGES':
      return mailbox.messages;
    // \Recent is not kept (RFC 9051 drops it); SELECT answers 0 RECENT too.
    case 'RECENT':
      return 0;
    case 'UIDNEXT':
      return mailbox.uidNext;
    case 'UIDVALIDITY':
      return mailbox.uidValidity;
    case 'UNSEEN':
      return mailbox.unseen;
    case 'HIGHESTMODSEQ':
      return mailbox.highestModseq;
    case 'APPENDLIMIT':
      return APPEND_LIMIT;
  }
}

/** `* STATUS <name> (<item> <n> ...)`, items in the order asked. */
export function statusResponse(session: ImapSession, mailbox: Mailbox, items: readonly StatusItem[]): Wire {
  const data = items.map((item) => `${item} ${value(mailbox, item)}`).join(' ');
  return ['* STATUS ', ...mailboxWire(session, mailbox.name), ` (${data})`];
}

/** STATUS: one read of the Mailbox record; a missing mailbox is NO [NONEXISTENT] (RFC 5530). */
export const status: CommandSpec = {
  name: 'STATUS',
  states: AUTHENTICATED,
  async handle({ session, args }) {
    const name = mailboxArg(session, args[0]);
    const items = parseStatusItems(session, args[1]);
    noMore(args, 2, 'STATUS');
    const mailbox = await session.deps.store.getMailbox(session.account!, name);
    if (!mailbox) throw no(`No mailbox ${show(name)}`, 'NONEXISTENT');
    session.send(statusResponse(session, mailbox, items));
    return { text: 'STATUS completed' };
  },
};
