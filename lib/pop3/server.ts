import { randomBytes } from 'node:crypto';
import { hostname as machineName } from 'node:os';
import type { Server } from 'node:net';
import type { BlobStore } from '../blob/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../log.js';
import type { TlsFiles } from '../tls/certificate.js';
import { createSessionListener } from '../net/listener.js';
import { createAuthenticator } from '../auth/password.js';
import { Pop3Session, type Pop3Deps } from './session.js';
import { pop3Commands } from './commands/index.js';

export interface Pop3ServerOptions {
  hostname: string;
  tls?: TlsFiles;
  /** USER/PASS and AUTH without TLS: only for dev on loopback. */
  allowInsecureAuth: boolean;
  /** Implicit TLS (port 995) instead of plain text with STLS (110). */
  secure?: boolean;
  /**
   * TLS terminated in front of this listener (the load balancer's 995): plain socket, but the
   * session counts as TLS (USER/PASS and AUTH allowed, no STLS). Only for a port that nothing
   * but the load balancer can reach (lib/config.ts).
   */
  tlsOffloaded?: boolean;
  autologoutMs?: number;
}

export interface Pop3Server {
  server: Server;
  sessions: Set<Pop3Session>;
  close(): Promise<void>;
}

/** Shared by the POP3 listeners of a process: one command map, one password cache, one instance id. */
export function createPop3Deps(
  store: Store,
  blobs: BlobStore,
  logger: Logger,
  extra: Pick<Pop3Deps, 'onChanged' | 'lockTtlMs'> = {},
): Pop3Deps {
  return {
    store,
    blobs,
    logger,
    authenticate: createAuthenticator(store),
    commands: pop3Commands(),
    instance: `${machineName()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    ...extra,
  };
}

export function createPop3Server(deps: Pop3Deps, options: Pop3ServerOptions): Pop3Server {
  const { server, sessions } = createSessionListener(options, deps.logger, (socket, security) => {
    const session = new Pop3Session(socket, deps, {
      hostname: options.hostname,
      ...security,
      allowInsecureAuth: options.allowInsecureAuth,
      ...(options.autologoutMs ? { autologoutMs: options.autologoutMs } : {}),
    });
    session.start();
    return session;
  });
  return {
    server,
    sessions,
    async close() {
      // Sessions that did not QUIT delete nothing (RFC 1939 §6); their locks are released
      // before the store closes, so a restarted server does not answer IN-USE.
      await Promise.all([...sessions].map((session) => session.shutdown()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
