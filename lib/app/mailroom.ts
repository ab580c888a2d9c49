import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { IngestJob } from '../ingest/types.js';
import type { Outbound } from '../outbound/types.js';
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

/** The embedded adapters over one data directory: what `mailroom dev` and the CLI share. */
export function openEmbedded(config: Pick<Config, 'dataDir' | 'maxReceiveCount' | 'smarthost'>) {
  mkdirSync(config.dataDir, { recursive: true });
  const paths = dataPaths(config.dataDir);
  const blobs = new FsBlobStore(paths.blobs);
  const queue = new SqliteJobQueue<IngestJob>({ path: paths.queue, maxReceiveCount: config.maxReceiveCount });
  const store = SqliteStore.open(paths.store);
  const outbound: Outbound = config.smarthost
    ? new SmtpOutbound(config.smarthost)
    : new CaptureOutbound(blobs);
  return {
    blobs,
    queue,
    store,
    outbound,
    async close() {
      await outbound.close?.();
      queue.close();
      await store.close();
    },
  };
}

export type Embedded = ReturnType<typeof openEmbedded>;

export interface RunningMailroom {
  embedded: Embedded;
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
}

function listen(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.listen(port, host, () => {
      server.server.off('error', onError);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

function listenNet(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Runs the whole pipeline in this process: MX, submission, IMAP and POP3 listeners, and the ingest runner. */
export async function startMailroom(
  config: Config,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningMailroom> {
  const embedded = openEmbedded(config);
  const imapDeps = createImapDeps(embedded.store, embedded.blobs, logger.child({ component: 'imap' }));
  const handler = createIngestHandler({
    ...embedded,
    logger: logger.child({ component: 'ingest' }),
    webhook: options.webhook,
    onDelivered: (account, folder) => imapDeps.notifier.touch(account, folder),
  });
  const runner = new LocalRunner(embedded.queue, handler, logger.child({ component: 'ingest' }), {
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    ...options.runner,
  });
  const deps = { ...embedded, logger: logger.child({ component: 'smtp' }), onQueued: () => runner.notify() };
  const tls =
    options.tls === undefined
      ? config.tlsKey && config.tlsCert
        ? await readTlsFiles(config.tlsKey, config.tlsCert)
        : await ensureSelfSignedCertificate(config.dataDir, config.hostname)
      : (options.tls ?? undefined);
  const common = {
    hostname: config.hostname,
    maxMessageBytes: config.maxMessageBytes,
    maxRecipients: config.maxRecipients,
    tls,
  };
  const servers = [
    createSmtpServer(deps, { ...common, mode: 'mx' }),
    createSmtpServer(deps, { ...common, mode: 'submission', allowInsecureAuth: config.allowInsecureAuth }),
  ];
  if (config.submissionTlsPort !== undefined && tls) {
    servers.push(createSmtpServer(deps, { ...common, mode: 'submission', secure: true }));
  }
  const imapOptions = { hostname: config.hostname, tls, allowInsecureAuth: config.allowInsecureAuth };
  const imapServers: ImapServer[] = [createImapServer(imapDeps, imapOptions)];
  if (tls) imapServers.push(createImapServer(imapDeps, { ...imapOptions, secure: true }));
  const pop3Deps = createPop3Deps(embedded.store, embedded.blobs, logger.child({ component: 'pop3' }), {
    onChanged: (account, mailbox) => imapDeps.notifier.touch(account, mailbox),
    lockTtlMs: config.pop3LockSeconds * 1000,
  });
  const pop3Servers: Pop3Server[] = [createPop3Server(pop3Deps, imapOptions)];
  if (tls) pop3Servers.push(createPop3Server(pop3Deps, { ...imapOptions, secure: true }));
  const ports: number[] = [];
  const imapPorts: number[] = [];
  const pop3Ports: number[] = [];
  const closeAll = async () => {
    await Promise.all([
      ...servers.map(close),
      ...imapServers.map((s) => s.close()),
      ...pop3Servers.map((s) => s.close()),
    ]);
    imapDeps.notifier.close();
  };
  try {
    const wanted = [config.smtpPort, config.submissionPort, config.submissionTlsPort ?? 0];
    for (const [i, server] of servers.entries()) ports.push(await listen(server, wanted[i]!, config.host));
    const imapWanted = [config.imapPort, config.imapTlsPort];
    for (const [i, imap] of imapServers.entries())
      imapPorts.push(await listenNet(imap.server, imapWanted[i]!, config.host));
    const pop3Wanted = [config.pop3Port, config.pop3TlsPort];
    for (const [i, pop3] of pop3Servers.entries())
      pop3Ports.push(await listenNet(pop3.server, pop3Wanted[i]!, config.host));
  } catch (err) {
    await closeAll().catch(() => undefined);
    await embedded.close();
    throw err;
  }
  if (!options.noRunner) runner.start();
  return {
    embedded,
    smtpPort: ports[0]!,
    submissionPort: ports[1]!,
    ...(ports[2] !== undefined ? { submissionTlsPort: ports[2] } : {}),
    imapPort: imapPorts[0]!,
    ...(imapPorts[1] !== undefined ? { imapTlsPort: imapPorts[1] } : {}),
    pop3Port: pop3Ports[0]!,
    ...(pop3Ports[1] !== undefined ? { pop3TlsPort: pop3Ports[1] } : {}),
    tls: Boolean(tls),
    runner,
    async stop() {
      await closeAll();
      await runner.stop();
      await embedded.close();
    },
  };
}
