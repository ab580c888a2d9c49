import { AUTHENTICATED, type CommandSpec } from '../command.js';

/** NAMESPACE (RFC 2342): one personal namespace, "/" as delimiter; nothing shared yet. */
export const namespace: CommandSpec = {
  name: 'NAMESPACE',
  states: AUTHENTICATED,
  async handle({ session }) {
    session.send('* NAMESPACE (("" "/")) NIL NIL');
  },
};
