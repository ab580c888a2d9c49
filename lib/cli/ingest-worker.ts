import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { openBackend } from '../app/backend.js';
import { LocalRunner } from '../runner/local-runner.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { runUntilSignal } from './signals.js';

/**
 * `mailroom ingest`: the poller that stands in for Lambda's SQS event source where there is
 * no Lambda (a container, a test): receives batches with long polling, runs the Lambda's own
 * handler on them, deletes what succeeded and lets the failures come back after a backoff;
 * the queue's redrive policy dead-letters what keeps failing. SIGTERM finishes the batch in
 * hand; a poller killed mid-batch loses nothing (its messages reappear after the visibility
 * timeout) and duplicates nothing (delivery is idempotent).
 */
export async function runIngestWorker(config: Config, json: boolean): Promise<void> {
  const logger = createLogger({ level: config.logLevel, pretty: json ? false : undefined });
  const backend = await openBackend(config);
  const handler = createIngestHandler({ ...backend, logger: logger.child({ component: 'ingest' }) });
  const runner = new LocalRunner(backend.queue, handler, logger.child({ component: 'ingest' }), {
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    waitSeconds: backend.kind === 'aws' ? 5 : 0,
  });
  runner.start();
  const ready = { role: 'ingest', backend: backend.kind };
  if (json) process.stdout.write(JSON.stringify({ ready }) + '\n');
  else logger.info(ready, 'mailroom ingest ready');
  await runUntilSignal(logger, async (signal) => {
    logger.info({ signal }, 'stopping: finishing the batch in hand');
    await runner.stop();
    await backend.close();
  });
}
