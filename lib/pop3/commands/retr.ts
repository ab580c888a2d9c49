import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { badArgs } from '../errors.js';

/** RETR (RFC 1939 §5): the whole message, streamed. */
export const retr: Pop3CommandSpec = {
  name: 'RETR',
  states: TRANSACTION,
  async handle({ session, command }) {
    if (command.args.length !== 1) throw badArgs('RETR takes a message number');
    const index = session.maildrop.index(command.args[0]);
    await session.sendMessage(index);
    session.maildrop.markRetrieved(index);
  },
};
