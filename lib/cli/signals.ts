import type { Logger } from '../log.js';

/**
 * What every long-running command does at the end: wait for SIGINT or SIGTERM (Ctrl-C, a
 * container runtime stopping the task), run `stop` once, log a failed stop, and return
 * when it is done. Signals after the first are left to the stop in progress.
 */
export async function runUntilSignal(
  logger: Logger,
  stop: (signal: NodeJS.Signals) => Promise<void>,
): Promise<void> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(received);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    await stop(signal);
  } catch (err) {
    logger.error({ err }, 'stop failed');
  }
  logger.info('stopped');
}
