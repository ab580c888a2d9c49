import { ANY, type CommandSpec } from '../command.js';

export const logout: CommandSpec = {
  name: 'LOGOUT',
  states: ANY,
  async handle({ session }) {
    session.send('* BYE Mailroom IMAP logging out');
    session.setState({ kind: 'logout' });
    return { text: 'LOGOUT completed' };
  },
};
