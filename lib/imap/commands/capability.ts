import { ANY, type CommandSpec } from '../command.js';

export const capability: CommandSpec = {
  name: 'CAPABILITY',
  states: ANY,
  async handle({ session }) {
    session.send(`* CAPABILITY ${session.capabilities().join(' ')}`);
  },
};
