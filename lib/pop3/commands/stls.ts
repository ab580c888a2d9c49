import { AUTHORIZATION, type Pop3CommandSpec } from '../command.js';
import { Pop3Error } from '../errors.js';

/** STLS (RFC 2595 §4): only before login, only once, only where a certificate exists. */
export const stls: Pop3CommandSpec = {
  name: 'STLS',
  states: AUTHORIZATION,
  async handle({ session }) {
    if (session.secure) throw new Pop3Error('Already using TLS');
    if (!session.canStartTls) throw new Pop3Error('TLS is not available');
    await session.startTls();
  },
};
