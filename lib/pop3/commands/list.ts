import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { listing } from './listing.js';

/** LIST (RFC 1939 §5): message sizes in octets. */
export const list: Pop3CommandSpec = {
  name: 'LIST',
  states: TRANSACTION,
  async handle({ session, command }) {
    return listing(session, command, (i) => String(session.maildrop.size(i)));
  },
};
