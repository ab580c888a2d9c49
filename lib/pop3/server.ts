import { randomBytes } from 'node:crypto';
import { hostname as machineName } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { BlobStore } from '../blob/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../log.js';
import type { TlsFiles } from '../tls/certificate.js';
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
  const offloaded = Boolean(options.tlsOffloaded);
  const secureContext =
    options.tls && !offloaded
      ? createSecureContext({ key: options.tls.key, cert: options.tls.cert })
      : undefined;
  const sessions = new Set<Pop3Session>();
  const onSocket = (socket: Socket) => {
    socket.setNoDelay(true);
    const session = new Pop3Session(socket, deps, {
      hostname: options.hostname,
      secure: Boolean(options.secure) || offloaded,
      ...(secureContext ? { secureContext } : {}),
      allowInsecureAuth: options.allowInsecureAuth,
      ...(options.autologoutMs ? { autologoutMs: options.autologoutMs } : {}),
    });
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
    session.start();
  };
  const server =
    options.secure && options.tls && !offloaded
      ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onSocket)
      : createServer(onSocket);
  server.on('error', (err) => deps.logger.error({ err }, 'pop3 server error'));
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
