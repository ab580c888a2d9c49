import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { noArgs } from './listing.js';

/** STAT (RFC 1939 §5): messages not marked deleted, and their size. */
export const stat: Pop3CommandSpec = {
  name: 'STAT',
  states: TRANSACTION,
  async handle({ session, command }) {
    noArgs(command);
    const { count, octets } = session.maildrop.stat();
    return `${count} ${octets}`;
  },
};
