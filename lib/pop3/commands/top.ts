import { TRANSACTION, type Pop3CommandSpec } from '../command.js';
import { badArgs } from '../errors.js';

/** TOP (RFC 1939 §7): the header, the empty line, and the first n lines of the body. */
export const top: Pop3CommandSpec = {
  name: 'TOP',
  states: TRANSACTION,
  async handle({ session, command }) {
    if (command.args.length !== 2) throw badArgs('TOP takes a message number and a line count');
    const index = session.maildrop.index(command.args[0]);
    const lines = command.args[1]!;
    if (!/^\d{1,9}$/.test(lines)) throw badArgs(`Invalid line count ${lines.slice(0, 20)}`);
    await session.sendMessage(index, Number(lines));
  },
};
