import { AUTHORIZATION, type Pop3CommandSpec } from '../command.js';
import { Pop3Error, badArgs } from '../errors.js';

/** Refused without TLS except on dev loopback (RFC 2595 §4: no passwords in clear). */
export function requireAuthAllowed(allowed: boolean): void {
  if (!allowed) throw new Pop3Error('Plain text authentication is disallowed without TLS; use STLS', 'AUTH');
}

/** USER (RFC 1939 §7): names the mailbox; any name is taken, so USER discloses nothing. */
export const user: Pop3CommandSpec = {
  name: 'USER',
  states: AUTHORIZATION,
  async handle({ session, command }) {
    requireAuthAllowed(session.authAllowed);
    if (command.args.length !== 1) throw badArgs('USER takes one argument, the address');
    session.state = { kind: 'authorization', user: command.args[0]! };
    return 'Send PASS';
  },
};
