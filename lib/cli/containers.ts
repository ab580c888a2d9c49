import type { Config } from '../config.js';
import { createLogger } from '../log.js';
import { openBackend } from '../app/backend.js';
import { resolveTls, startAccess, startIngress } from '../app/mailroom.js';
import { HealthServer } from '../app/health.js';

export type ContainerRole = 'smtp' | 'access';

/**
 * `mailroom smtp` (the ingress container: MX and submission) and `mailroom access` (IMAP and
 * POP3), each with a health check for the load balancer. SIGTERM (how Fargate stops a task)
 * turns the health check to 503, waits drainSeconds, then closes the listeners and lets
 * open sessions end. Nothing on local disk matters: mail and state live in the backend.
 */
export async function runContainer(role: ContainerRole, config: Config, json: boolean): Promise<void> {
  const logger = createLogger({ level: config.logLevel, pretty: json ? false : undefined });
  const backend = await openBackend(config);
  const tls = await resolveTls(config);
  let running: { close(): Promise<void> };
  let listeners: Record<string, number | undefined>;
  if (role === 'smtp') {
    const ingress = await startIngress(backend, config, logger, tls);
    running = ingress;
    listeners = {
      smtp: ingress.smtpPort,
      submission: ingress.submissionPort,
      submissionTls: ingress.submissionTlsPort,
    };
  } else {
    const access = await startAccess(backend, config, logger, tls);
    running = access;
    listeners = {
      imap: access.imapPort,
      imapTls: access.imapTlsPort,
      pop3: access.pop3Port,
      pop3Tls: access.pop3TlsPort,
    };
  }
  // A cheap call that proves the store answers (one GetItem on DynamoDB).
  const health = new HealthServer(async () => void (await backend.store.getDomain('health.invalid')), logger);
  const healthPort = await health.listen(config.healthPort, config.host);
  const ready = { role, backend: backend.kind, ...listeners, health: healthPort };
  if (json) process.stdout.write(JSON.stringify({ ready }) + '\n');
  else logger.info(ready, `mailroom ${role} ready`);

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      logger.info({ signal, drainSeconds: config.drainSeconds }, 'draining: health check now 503');
      health.drain();
      setTimeout(() => {
        running
          .close()
          .then(() => backend.close())
          .then(() => health.close())
          .then(resolve, (err: unknown) => {
            logger.error({ err }, 'stop failed');
            resolve();
          });
      }, config.drainSeconds * 1000);
    };
    const onSignal = (signal: NodeJS.Signals) => shutdown(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  logger.info('stopped');
}
