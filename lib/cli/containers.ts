import { X509Certificate } from 'node:crypto';
import { ENV_NAMES, type Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import type { TlsFiles } from '../tls/certificate.js';
import { openBackend } from '../app/backend.js';
import { resolveTls, startAccess, startIngress } from '../app/mailroom.js';
import { HealthServer } from '../app/health.js';
import { runUntilSignal } from './signals.js';

export type ContainerRole = 'smtp' | 'access';

/**
 * `mailroom smtp` (the ingress container: MX and submission) and `mailroom access` (IMAP and
 * POP3), each with a health check for the load balancer. SIGTERM (how Fargate stops a task)
 * turns the health check to 503, waits drainSeconds, then closes the listeners and lets
 * open sessions end. Nothing on local disk matters: mail and state live in the backend.
 */
export async function runContainer(role: ContainerRole, config: Config, json: boolean): Promise<void> {
  const logger = createLogger({ level: config.logLevel, pretty: json ? false : undefined });
  // The certificate first: a bad one is a ConfigError (exit 2) before anything is opened.
  const tls = await resolveTls(config);
  logTls(logger, config, tls);
  const backend = await openBackend(config);
  let running: { close(): Promise<void> };
  let listeners: Record<string, number | undefined>;
  if (role === 'smtp') {
    const ingress = await startIngress(backend, config, logger, tls);
    running = ingress;
    listeners = {
      smtp: ingress.smtpPort,
      submission: ingress.submissionPort,
      submissionTls: ingress.submissionTlsPort,
      submissionOffload: ingress.submissionOffloadPort,
    };
  } else {
    const access = await startAccess(backend, config, logger, tls);
    running = access;
    listeners = {
      imap: access.imapPort,
      imapTls: access.imapTlsPort,
      imapOffload: access.imapOffloadPort,
      pop3: access.pop3Port,
      pop3Tls: access.pop3TlsPort,
      pop3Offload: access.pop3OffloadPort,
    };
  }
  // A cheap call that proves the store answers (one GetItem on DynamoDB).
  const health = new HealthServer(async () => void (await backend.store.getDomain('health.invalid')), logger);
  const healthPort = await health.listen(config.healthPort, config.host);
  const ready = { role, backend: backend.kind, ...listeners, health: healthPort };
  if (json) process.stdout.write(JSON.stringify({ ready }) + '\n');
  else logger.info(ready, `mailroom ${role} ready`);

  await runUntilSignal(logger, async (signal) => {
    logger.info({ signal, drainSeconds: config.drainSeconds }, 'draining: health check now 503');
    health.drain();
    await new Promise((resolve) => setTimeout(resolve, config.drainSeconds * 1000));
    await running.close();
    await backend.close();
    await health.close();
  });
}

/** Days before expiry from which every start warns. */
const EXPIRY_WARNING_DAYS = 21;

/**
 * Says where the certificate came from and until when it is valid, and warns about what an
 * operator must act on: a self-signed certificate (clients that verify refuse STARTTLS with
 * it; MX senders mostly accept it), one about to expire, and the TLS offload listeners that
 * must only be reachable through the load balancer.
 */
function logTls(logger: Logger, config: Config, tls: TlsFiles | undefined): void {
  const source = config.tlsKeyPem ? 'environment' : config.tlsKey ? 'files' : 'self-signed';
  const offload = {
    submission: config.submissionOffloadPort,
    imap: config.imapOffloadPort,
    pop3: config.pop3OffloadPort,
  };
  if (Object.values(offload).some((port) => port !== undefined)) {
    logger.info(
      { offload },
      'TLS offload listeners: their sessions count as TLS; only the load balancer may reach them',
    );
  }
  if (!tls) {
    logger.warn('no certificate (and no openssl to make one): STARTTLS is not offered');
    return;
  }
  const cert = new X509Certificate(tls.cert);
  const validTo = new Date(cert.validTo);
  logger.info({ source, subject: cert.subject, validTo: validTo.toISOString() }, 'STARTTLS certificate');
  if (source === 'self-signed') {
    logger.warn(
      `STARTTLS uses a self-signed certificate; set ${ENV_NAMES.tlsKeyPem} and ${ENV_NAMES.tlsCertPem} ` +
        `(or ${ENV_NAMES.tlsKey} and ${ENV_NAMES.tlsCert}) to a certificate for ${config.hostname}`,
    );
  }
  const daysLeft = (validTo.getTime() - Date.now()) / 86_400_000;
  if (daysLeft < EXPIRY_WARNING_DAYS) {
    logger.warn(
      { validTo: validTo.toISOString() },
      `the STARTTLS certificate expires in ${Math.floor(daysLeft)} days`,
    );
  }
}
