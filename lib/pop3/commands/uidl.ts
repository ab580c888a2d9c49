import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { listing } from './listing.js';

/** UIDL (RFC 1939 §7): unique ids that stay the same across sessions (UIDVALIDITY.UID). */
export const uidl: Pop3CommandSpec = {
  name: 'UIDL',
  states: TRANSACTION,
  async handle({ session, command }) {
    return listing(session, command, (i) => session.maildrop.uidl(i));
  },
};
