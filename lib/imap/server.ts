import type { Server } from 'node:net';
import type { BlobStore } from '../blob/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../log.js';
import type { TlsFiles } from '../tls/certificate.js';
import { createSessionListener } from '../net/listener.js';
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
  const { server, sessions } = createSessionListener(options, deps.logger, (socket, security) => {
    const session = new ImapSession(socket, deps, {
      hostname: options.hostname,
      ...security,
      allowInsecureAuth: options.allowInsecureAuth,
      ...(options.autologoutMs ? { autologoutMs: options.autologoutMs } : {}),
      ...(options.idleKeepaliveMs ? { idleKeepaliveMs: options.idleKeepaliveMs } : {}),
    });
    session.start();
    return session;
  });
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
