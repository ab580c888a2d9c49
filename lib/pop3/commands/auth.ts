import { AUTHORIZATION, type Pop3CommandSpec } from '../command.js';
import { Pop3Error, badArgs } from '../errors.js';
import { requireAuthAllowed } from './user.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * AUTH (RFC 5034) with SASL PLAIN (RFC 4616), the initial response on the command line or
 * after a `+ ` continuation; `*` cancels. AUTH alone lists the mechanisms, as Outlook and
 * other RFC 1734-era clients ask.
 */
export const auth: Pop3CommandSpec = {
  name: 'AUTH',
  states: AUTHORIZATION,
  async handle({ session, command }) {
    const [mechanism, initial, extra] = command.args;
    if (mechanism === undefined) {
      session.sendMultiline('Methods follow', session.authAllowed ? ['PLAIN'] : []);
      return;
    }
    requireAuthAllowed(session.authAllowed);
    if (mechanism.toUpperCase() !== 'PLAIN')
      throw new Pop3Error(`Unsupported mechanism ${mechanism.slice(0, 40)}`);
    if (extra !== undefined) throw badArgs('AUTH takes a mechanism and at most an initial response');
    let response = initial;
    if (response === undefined) {
      const line = await session.readRawLine('');
      if (line === null) return;
      response = line.toString('latin1').trim();
    }
    if (response === '*') throw new Pop3Error('Authentication cancelled');
    // RFC 5034 §4: "=" is an empty initial response.
    const decoded = response === '=' ? '' : decode(response);
    const parts = decoded.split('\0');
    if (parts.length !== 3) throw new Pop3Error('Malformed PLAIN response', 'AUTH');
    const [authzid, authcid, password] = parts as [string, string, string];
    // Acting as another user (an authorization identity) is not offered.
    if (authzid !== '' && authzid.toLowerCase() !== authcid.toLowerCase()) {
      throw new Pop3Error('Authorization identity must be empty or the user', 'AUTH');
    }
    return session.login(authcid, password);
  },
};

function decode(text: string): string {
  if (!BASE64.test(text)) throw new Pop3Error('Response is not base64', 'AUTH');
  return Buffer.from(text, 'base64').toString('utf8');
}
