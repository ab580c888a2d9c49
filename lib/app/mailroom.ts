import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { SMTPServer } from 'smtp-server';
import { ConfigError, ENV_NAMES, type Config } from '../config.js';
import type { Logger } from '../log.js';
import type { IngestJob } from '../ingest/types.js';
import type { Outbound } from '../outbound/types.js';
import type { BlobStore } from '../blob/types.js';
import type { JobQueue } from '../queue/types.js';
import type { Store } from '../store/types.js';
import type { Events } from '../events/types.js';
import { cachedDirectory, type Directory } from '../routing/directory-cache.js';
import { FsBlobStore } from '../blob/fs/fs-blob-store.js';
import { SqliteJobQueue } from '../queue/sqlite/sqlite-job-queue.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { SmtpOutbound } from '../outbound/smtp-outbound.js';
import { CaptureOutbound } from '../outbound/capture-outbound.js';
import { createSmtpServer } from '../smtp/server.js';
import { LocalRunner, type LocalRunnerOptions } from '../runner/local-runner.js';
import { createIngestHandler } from '../../functions/ingest.js';
import { createImapDeps, createImapServer, type ImapServer } from '../imap/server.js';
import { createPop3Deps, createPop3Server, type Pop3Server } from '../pop3/server.js';
import type { WebhookOptions } from '../events/webhook.js';
import { ensureSelfSignedCertificate, readTlsFiles, type TlsFiles } from '../tls/certificate.js';

/** Where the embedded default keeps everything, under the data directory. */
export function dataPaths(dataDir: string) {
  return {
    store: join(dataDir, 'mailroom.db'),
    queue: join(dataDir, 'queue.db'),
    blobs: join(dataDir, 'blobs'),
  };
}

/** The adapters behind every port: the embedded default, or AWS (lib/app/backend.ts). */
export interface Backend {
  kind: 'local' | 'aws';
  blobs: BlobStore;
  queue: JobQueue<IngestJob>;
  store: Store;
  outbound: Outbound;
  /** Where mailroom.message.received events go (EventBridge on aws); unset: none. */
  events?: Events;
  /** The S3 bucket of the BlobStore, named in events; unset on the local backend. */
  rawBucket?: string;
  /**
   * The store's directory reads behind a cache (config directoryCacheSeconds), for the SMTP
   * ingress and ingest to resolve recipients with; unset: they read the store.
   */
  directory?: Directory;
  close(): Promise<void>;
}

/** How often the access servers look for changes of a watched mailbox on the aws backend. */
const AWS_NOTIFY_INTERVAL_MS = 1000;

/** The embedded adapters over one data directory: what `mailroom dev` and the CLI share. */
export function openEmbedded(
  config: Pick<Config, 'dataDir' | 'maxReceiveCount' | 'smarthost'> &
    Partial<Pick<Config, 'directoryCacheSeconds'>>,
): Backend {
  mkdirSync(config.dataDir, { recursive: true });
  const paths = dataPaths(config.dataDir);
  const blobs = new FsBlobStore(paths.blobs);
  const queue = new SqliteJobQueue<IngestJob>({ path: paths.queue, maxReceiveCount: config.maxReceiveCount });
  const store = SqliteStore.open(paths.store);
  const outbound: Outbound = config.smarthost
    ? new SmtpOutbound(config.smarthost)
    : new CaptureOutbound(blobs);
  return {
    kind: 'local',
    blobs,
    queue,
    store,
    outbound,
    ...cachedDirectory(store, config.directoryCacheSeconds ?? 0),
    async close() {
      await outbound.close?.();
      queue.close();
      await store.close();
    },
  };
}

export interface RunningMailroom {
  embedded: Backend;
  smtpPort: number;
  submissionPort: number;
  /** The implicit-TLS submission port, when configured. */
  submissionTlsPort?: number;
  imapPort: number;
  /** IMAP over implicit TLS; absent when no certificate could be had. */
  imapTlsPort?: number;
  pop3Port: number;
  /** POP3 over implicit TLS; absent when no certificate could be had. */
  pop3TlsPort?: number;
  /** Whether STARTTLS is offered (a certificate was configured or made). */
  tls: boolean;
  runner: LocalRunner<IngestJob>;
  /** Stops accepting, lets sessions finish briefly, finishes the batch in hand. */
  stop(): Promise<void>;
}

export interface StartOptions {
  runner?: LocalRunnerOptions;
  webhook?: WebhookOptions;
  /** Do not start the in-process ingest runner (a separate process runs it). */
  noRunner?: boolean;
  /** Key and certificate; default: from config, else the self-signed pair in dataDir/tls. */
  tls?: TlsFiles | null;
  /** The adapters; default: the embedded ones over config.dataDir. */
  backend?: Backend;
}

function listenSmtp(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.listen(port, host, () => {
      server.server.off('error', onError);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

export function listenNet(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * The certificate for STARTTLS and the implicit-TLS ports: given, PEM text from the
 * environment (Secrets Manager in the cloud), PEM files, or else self-signed in dataDir/tls.
 * A key and certificate that do not make a TLS context are a ConfigError (exit 2), found
 * at start rather than at the first STARTTLS.
 */
export async function resolveTls(config: Config, given?: TlsFiles | null): Promise<TlsFiles | undefined> {
  if (given !== undefined) return given ?? undefined;
  if (config.tlsKeyPem && config.tlsCertPem) {
    return checkTlsPair(
      { key: Buffer.from(pemText(config.tlsKeyPem)), cert: Buffer.from(pemText(config.tlsCertPem)) },
      `tlsKeyPem (${ENV_NAMES.tlsKeyPem}) and tlsCertPem (${ENV_NAMES.tlsCertPem})`,
    );
  }
  if (config.tlsKey && config.tlsCert) {
    const source = `tlsKey (${ENV_NAMES.tlsKey}) and tlsCert (${ENV_NAMES.tlsCert})`;
    const files = await readTlsFiles(config.tlsKey, config.tlsCert).catch((err: unknown) => {
      throw new ConfigError(`${source}: cannot read: ${(err as Error).message}`);
    });
    return checkTlsPair(files, source);
  }
  return ensureSelfSignedCertificate(config.dataDir, config.hostname);
}

/** PEM from an environment variable: a value without line breaks may carry them as "\\n" escapes. */
function pemText(value: string): string {
  return value.includes('\n') ? value : value.replace(/\\n/g, '\n');
}

/** Names what is wrong with a key and certificate, never their content. */
function checkTlsPair(files: TlsFiles, source: string): TlsFiles {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(files.key.toString('latin1'))) {
    throw new ConfigError(
      `${source}: the key is not a PEM private key (no "-----BEGIN ... PRIVATE KEY-----")`,
    );
  }
  if (!files.cert.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${source}: the certificate is not PEM (no "-----BEGIN CERTIFICATE-----")`);
  }
  try {
    createSecureContext({ key: files.key, cert: files.cert });
  } catch (err) {
    throw new ConfigError(`${source}: not a usable key and certificate: ${(err as Error).message}`);
  }
  return files;
}

export interface RunningIngress {
  smtpPort: number;
  submissionPort: number;
  submissionTlsPort?: number;
  /** Submission behind a load balancer that terminates TLS (lib/config.ts submissionOffloadPort). */
  submissionOffloadPort?: number;
  close(): Promise<void>;
}

/**
 * The SMTP side (MX, submission, optional implicit-TLS or TLS-offloaded submission):
 * `mailroom smtp` in a container.
 */
export async function startIngress(
  backend: Backend,
  config: Config,
  logger: Logger,
  tls: TlsFiles | undefined,
  onQueued?: () => void,
): Promise<RunningIngress> {
  const deps = { ...backend, logger: logger.child({ component: 'smtp' }), ...(onQueued ? { onQueued } : {}) };
  const common = {
    hostname: config.hostname,
    maxMessageBytes: config.maxMessageBytes,
    maxRecipients: config.maxRecipients,
    tls,
  };
  type Name = 'smtpPort' | 'submissionPort' | 'submissionTlsPort' | 'submissionOffloadPort';
  const listeners: { name: Name; server: SMTPServer; port: number }[] = [
    { name: 'smtpPort', server: createSmtpServer(deps, { ...common, mode: 'mx' }), port: config.smtpPort },
    {
      name: 'submissionPort',
      server: createSmtpServer(deps, {
        ...common,
        mode: 'submission',
        allowInsecureAuth: config.allowInsecureAuth,
      }),
      port: config.submissionPort,
    },
  ];
  if (config.submissionOffloadPort !== undefined) {
    listeners.push({
      name: 'submissionOffloadPort',
      server: createSmtpServer(deps, { ...common, mode: 'submission', tlsOffloaded: true }),
      port: config.submissionOffloadPort,
    });
  } else if (config.submissionTlsPort !== undefined && tls) {
    listeners.push({
      name: 'submissionTlsPort',
      server: createSmtpServer(deps, { ...common, mode: 'submission', secure: true }),
      port: config.submissionTlsPort,
    });
  }
  const close = async () => {
    await Promise.all(listeners.map((l) => closeSmtp(l.server)));
  };
  const ports: Partial<Record<Name, number>> = {};
  try {
    for (const listener of listeners)
      ports[listener.name] = await listenSmtp(listener.server, listener.port, config.host);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { ...ports, smtpPort: ports.smtpPort!, submissionPort: ports.submissionPort!, close };
}

export interface RunningAccess {
  imapPort: number;
  imapTlsPort?: number;
  /** IMAP behind a load balancer that terminates TLS (lib/config.ts imapOffloadPort). */
  imapOffloadPort?: number;
  pop3Port: number;
  pop3TlsPort?: number;
  /** POP3 behind a load balancer that terminates TLS (lib/config.ts pop3OffloadPort). */
  pop3OffloadPort?: number;
  /** Tells IDLE sessions of this process about a delivery at once. */
  touch(account: string, mailbox: string): void;
  close(): Promise<void>;
}

/**
 * The IMAP and POP3 servers (plain with STARTTLS, and implicit TLS, or instead of implicit
 * TLS a TLS-offloaded listener behind a load balancer): `mailroom access` in a container.
 */
export async function startAccess(
  backend: Backend,
  config: Config,
  logger: Logger,
  tls: TlsFiles | undefined,
): Promise<RunningAccess> {
  // On DynamoDB every poll of a watched mailbox is a strongly consistent read (1 RCU): poll
  // once a second there (docs/dynamodb.md), four times a second on SQLite.
  const imapDeps = createImapDeps(
    backend.store,
    backend.blobs,
    logger.child({ component: 'imap' }),
    backend.kind === 'aws' ? AWS_NOTIFY_INTERVAL_MS : undefined,
  );
  const options = { hostname: config.hostname, tls, allowInsecureAuth: config.allowInsecureAuth };
  type Name = 'imapPort' | 'imapTlsPort' | 'imapOffloadPort' | 'pop3Port' | 'pop3TlsPort' | 'pop3OffloadPort';
  const listeners: { name: Name; server: ImapServer | Pop3Server; port: number }[] = [
    { name: 'imapPort', server: createImapServer(imapDeps, options), port: config.imapPort },
  ];
  if (config.imapOffloadPort !== undefined) {
    listeners.push({
      name: 'imapOffloadPort',
      server: createImapServer(imapDeps, { ...options, tlsOffloaded: true }),
      port: config.imapOffloadPort,
    });
  } else if (tls) {
    listeners.push({
      name: 'imapTlsPort',
      server: createImapServer(imapDeps, { ...options, secure: true }),
      port: config.imapTlsPort,
    });
  }
  const pop3Deps = createPop3Deps(backend.store, backend.blobs, logger.child({ component: 'pop3' }), {
    onChanged: (account, mailbox) => imapDeps.notifier.touch(account, mailbox),
    lockTtlMs: config.pop3LockSeconds * 1000,
  });
  listeners.push({ name: 'pop3Port', server: createPop3Server(pop3Deps, options), port: config.pop3Port });
  if (config.pop3OffloadPort !== undefined) {
    listeners.push({
      name: 'pop3OffloadPort',
      server: createPop3Server(pop3Deps, { ...options, tlsOffloaded: true }),
      port: config.pop3OffloadPort,
    });
  } else if (tls) {
    listeners.push({
      name: 'pop3TlsPort',
      server: createPop3Server(pop3Deps, { ...options, secure: true }),
      port: config.pop3TlsPort,
    });
  }
  const close = async () => {
    await Promise.all(listeners.map((l) => l.server.close()));
    imapDeps.notifier.close();
  };
  const ports: Partial<Record<Name, number>> = {};
  try {
    for (const listener of listeners)
      ports[listener.name] = await listenNet(listener.server.server, listener.port, config.host);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return {
    ...ports,
    imapPort: ports.imapPort!,
    pop3Port: ports.pop3Port!,
    touch: (account, mailbox) => imapDeps.notifier.touch(account, mailbox),
    close,
  };
}

/** Runs the whole system in this process: ingress, access, and the ingest runner (`mailroom dev`). */
export async function startMailroom(
  config: Config,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningMailroom> {
  const backend = options.backend ?? openEmbedded(config);
  let access: RunningAccess | undefined;
  let ingress: RunningIngress | undefined;
  try {
    const tls = await resolveTls(config, options.tls);
    access = await startAccess(backend, config, logger, tls);
    const touch = access.touch;
    const handler = createIngestHandler({
      ...backend,
      logger: logger.child({ component: 'ingest' }),
      webhook: options.webhook,
      onDelivered: (account, folder) => touch(account, folder),
    });
    const runner = new LocalRunner(backend.queue, handler, logger.child({ component: 'ingest' }), {
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      ...options.runner,
    });
    ingress = await startIngress(backend, config, logger, tls, () => runner.notify());
    if (!options.noRunner) runner.start();
    const started = { ingress, access };
    return {
      embedded: backend,
      smtpPort: ingress.smtpPort,
      submissionPort: ingress.submissionPort,
      ...(ingress.submissionTlsPort !== undefined ? { submissionTlsPort: ingress.submissionTlsPort } : {}),
      imapPort: access.imapPort,
      ...(access.imapTlsPort !== undefined ? { imapTlsPort: access.imapTlsPort } : {}),
      pop3Port: access.pop3Port,
      ...(access.pop3TlsPort !== undefined ? { pop3TlsPort: access.pop3TlsPort } : {}),
      tls: Boolean(tls),
      runner,
      async stop() {
        await Promise.all([started.ingress.close(), started.access.close()]);
        await runner.stop();
        await backend.close();
      },
    };
  } catch (err) {
    await Promise.all([ingress?.close(), access?.close()]).catch(() => undefined);
    await backend.close();
    throw err;
  }
}
