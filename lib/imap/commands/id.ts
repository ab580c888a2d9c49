import { ANY, type CommandSpec } from '../command.js';
import { bad } from '../errors.js';

/** ID (RFC 2971): logs what the client says it is, and says what we are. */
export const id: CommandSpec = {
  name: 'ID',
  states: ANY,
  async handle({ session, args }) {
    const params = args[0];
    if (
      !params ||
      (params.type === 'atom' && params.value.toUpperCase() !== 'NIL') ||
      params.type === 'string'
    ) {
      throw bad('ID takes a parameter list or NIL');
    }
    if (params.type === 'list') {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < params.items.length && i < 60; i += 2) {
        const key = params.items[i]!;
        const value = params.items[i + 1]!;
        if (key.type === 'string' && value.type === 'string')
          fields[key.value.toString('utf8').slice(0, 30)] = value.value.toString('utf8').slice(0, 1024);
      }
      session.log.info({ clientId: fields }, 'client ID');
    }
    session.send('* ID ("name" "Mailroom" "vendor" "Mailroom")');
  },
};
