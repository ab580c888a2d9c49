import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { bad } from '../errors.js';

/** ENABLE (RFC 5161): CONDSTORE, QRESYNC (which implies CONDSTORE, RFC 7162 §3.2.3) and UTF8=ACCEPT (RFC 6855). */
export const enable: CommandSpec = {
  name: 'ENABLE',
  states: AUTHENTICATED,
  async handle({ session, args }) {
    if (args.length === 0) throw bad('ENABLE needs at least one capability');
    const turnedOn: string[] = [];
    for (const arg of args) {
      if (arg.type !== 'atom') throw bad('ENABLE takes capability names');
      const name = arg.value.toUpperCase();
      if (name === 'CONDSTORE' && !session.enabled.condstore) {
        session.enabled.condstore = true;
        turnedOn.push('CONDSTORE');
      } else if (name === 'QRESYNC' && !session.enabled.qresync) {
        session.enabled.qresync = true;
        session.enabled.condstore = true;
        turnedOn.push('QRESYNC');
      } else if (name === 'UTF8=ACCEPT' && !session.enabled.utf8) {
        session.enabled.utf8 = true;
        turnedOn.push('UTF8=ACCEPT');
      }
    }
    session.send(`* ENABLED${turnedOn.map((c) => ` ${c}`).join('')}`);
  },
};
