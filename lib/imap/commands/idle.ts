import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { bad } from '../errors.js';
import { noMore } from '../args.js';
import { IDLE_KEEPALIVE_MS } from '../limits.js';

/**
 * IDLE (RFC 2177): "+ idling", then untagged updates as the mailbox changes (from any
 * session or process: the notifier polls the store), until the client sends DONE; a
 * keepalive line when it has been quiet for IDLE_KEEPALIVE_MS.
 */
export const idle: CommandSpec = {
  name: 'IDLE',
  states: AUTHENTICATED,
  async handle({ session, args }) {
    noMore(args, 0, 'IDLE');
    const view = session.selected;
    let syncing = Promise.resolve();
    if (view) {
      const update = () => {
        // One sync at a time, in order; expunges may be sent while idling (RFC 2177).
        syncing = syncing
          .then(() => session.announce(true))
          .catch((err: unknown) => {
            session.log.warn({ err }, 'IDLE update failed');
          });
      };
      session.deps.notifier.subscribe(session, view.account, view.name, view.highestModseq, update);
    }
    const keepalive = setInterval(
      () => session.send('* OK Still here'),
      session.options.idleKeepaliveMs ?? IDLE_KEEPALIVE_MS,
    );
    keepalive.unref();
    const line = await session.readRawLine('idling');
    clearInterval(keepalive);
    session.deps.notifier.unsubscribeAll(session);
    await syncing;
    if (line === null) return { text: 'IDLE ended' };
    if (line.toString('latin1').trim().toUpperCase() !== 'DONE') throw bad('Expected DONE');
    return { text: 'IDLE terminated' };
  },
};
