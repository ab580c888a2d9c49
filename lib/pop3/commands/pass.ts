import { AUTHORIZATION, type Pop3CommandSpec } from '../command.js';
import { badArgs } from '../errors.js';
import { requireAuthAllowed } from './user.js';

/** PASS (RFC 1939 §7): the rest of the line is the password, spaces included. */
export const pass: Pop3CommandSpec = {
  name: 'PASS',
  states: AUTHORIZATION,
  async handle({ session, command }) {
    requireAuthAllowed(session.authAllowed);
    const state = session.state;
    if (state.kind !== 'authorization' || state.user === undefined) throw badArgs('Send USER first');
    if (command.rest.length === 0) throw badArgs('PASS takes the password');
    return session.login(state.user, command.rest);
  },
};
