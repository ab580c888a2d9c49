import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { badArgs } from '../errors.js';

/** DELE (RFC 1939 §5): marks only; QUIT removes. */
export const dele: Pop3CommandSpec = {
  name: 'DELE',
  states: TRANSACTION,
  async handle({ session, command }) {
    if (command.args.length !== 1) throw badArgs('DELE takes a message number');
    const index = session.maildrop.index(command.args[0]);
    session.maildrop.markDeleted(index);
    return `Message ${index + 1} deleted`;
  },
};
