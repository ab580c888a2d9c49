import { ANY, type Pop3CommandSpec } from '../command.js';

/** QUIT (RFC 1939 §6): in TRANSACTION it enters UPDATE and commits the deletions. */
export const quit: Pop3CommandSpec = {
  name: 'QUIT',
  states: ANY,
  async handle({ session }) {
    if (session.state.kind === 'transaction') return session.update();
    session.send(`+OK ${session.options.hostname} Mailroom POP3 signing off`);
    session.close();
  },
};
