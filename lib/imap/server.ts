import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext } from 'node:tls';
import type { BlobStore } from '../blob/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../log.js';
import type { TlsFiles } from '../tls/certificate.js';
import { createAuthenticator } from '../auth/password.js';
import { ImapSession, type ImapDeps } from './session.js';
import { MailboxNotifier } from './notifier.js';
import { MessageMetaCache } from './meta-cache.js';
import { commandRegistry } from './commands/index.js';

export interface ImapServerOptions {
  hostname: string;
  tls?: TlsFiles;
  /** LOGIN without TLS: only for dev on loopback. */
  allowInsecureAuth: boolean;
  /** Implicit TLS (port 993) instead of plain text with STARTTLS (143). */
  secure?: boolean;
  /**
   * TLS terminated in front of this listener (the load balancer's 993): plain socket, but the
   * session counts as TLS (LOGIN allowed, no STARTTLS). Only for a port that nothing but the
   * load balancer can reach (lib/config.ts).
   */
  tlsOffloaded?: boolean;
  autologoutMs?: { unauthenticated: number; authenticated: number };
  /** How often IDLE sends a keepalive line; default IDLE_KEEPALIVE_MS. */
  idleKeepaliveMs?: number;
}

export interface ImapServer {
  server: Server;
  sessions: Set<ImapSession>;
  close(): Promise<void>;
}

/** Shared by every IMAP listener of a process: one notifier, one command registry. */
export function createImapDeps(
  store: Store,
  blobs: BlobStore,
  logger: Logger,
  /** How often the notifier reads HIGHESTMODSEQ of each watched mailbox (one read per mailbox, not per session). */
  notifyIntervalMs?: number,
): ImapDeps {
  return {
    store,
    blobs,
    logger,
    notifier: new MailboxNotifier(store, notifyIntervalMs),
    metaCache: new MessageMetaCache(store),
    commands: commandRegistry(),
    authenticate: createAuthenticator(store),
  };
}

export function createImapServer(deps: ImapDeps, options: ImapServerOptions): ImapServer {
  const offloaded = Boolean(options.tlsOffloaded);
  const secureContext: SecureContext | undefined =
    options.tls && !offloaded
      ? createSecureContext({ key: options.tls.key, cert: options.tls.cert })
      : undefined;
  const sessions = new Set<ImapSession>();
  const onSocket = (socket: Socket) => {
    socket.setNoDelay(true);
    const session = new ImapSession(socket, deps, {
      hostname: options.hostname,
      secure: Boolean(options.secure) || offloaded,
      secureContext,
      allowInsecureAuth: options.allowInsecureAuth,
      ...(options.autologoutMs ? { autologoutMs: options.autologoutMs } : {}),
      ...(options.idleKeepaliveMs ? { idleKeepaliveMs: options.idleKeepaliveMs } : {}),
    });
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
    session.start();
  };
  const server =
    options.secure && options.tls && !offloaded
      ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onSocket)
      : createServer(onSocket);
  server.on('error', (err) => deps.logger.error({ err }, 'imap server error'));
  return {
    server,
    sessions,
    close() {
      return new Promise((resolve) => {
        for (const session of sessions) {
          session.send('* BYE Server shutting down');
          session.close();
        }
        server.close(() => resolve());
      });
    },
  };
}
