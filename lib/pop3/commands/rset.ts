import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { noArgs } from './listing.js';

/** RSET (RFC 1939 §5): every deletion mark is removed. */
export const rset: Pop3CommandSpec = {
  name: 'RSET',
  states: TRANSACTION,
  async handle({ session, command }) {
    noArgs(command);
    session.maildrop.reset();
    const { count, octets } = session.maildrop.stat();
    return `Maildrop has ${count} messages (${octets} octets)`;
  },
};
