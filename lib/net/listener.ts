import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext } from 'node:tls';
import type { Logger } from '../log.js';
import type { TlsFiles } from '../tls/certificate.js';

export interface ListenerOptions {
  tls?: TlsFiles;
  /** Implicit TLS (993, 995): the handshake before the greeting. */
  secure?: boolean;
  /** TLS terminated in front of this listener (a load balancer): plain socket, sessions count as TLS. */
  tlsOffloaded?: boolean;
}

/** What a session is told about its connection's security. */
export interface ConnectionSecurity {
  /** The connection is TLS already (implicit TLS, or terminated by the load balancer). */
  secure: boolean;
  /** For STARTTLS / STLS; absent where it cannot be offered. */
  secureContext?: SecureContext;
}

/**
 * The listening side that IMAP and POP3 share: a plain or implicit-TLS server whose every
 * connection (no Nagle, so replies go out at once) becomes a session of `start`, kept in
 * `sessions` until it closes.
 */
export function createSessionListener<S>(
  options: ListenerOptions,
  logger: Logger,
  start: (socket: Socket, security: ConnectionSecurity) => S,
): { server: Server; sessions: Set<S> } {
  const offloaded = Boolean(options.tlsOffloaded);
  const secureContext =
    options.tls && !offloaded
      ? createSecureContext({ key: options.tls.key, cert: options.tls.cert })
      : undefined;
  const security: ConnectionSecurity = {
    secure: Boolean(options.secure) || offloaded,
    ...(secureContext ? { secureContext } : {}),
  };
  const sessions = new Set<S>();
  const onSocket = (socket: Socket) => {
    socket.setNoDelay(true);
    const session = start(socket, security);
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
  };
  const server =
    options.secure && options.tls && !offloaded
      ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onSocket)
      : createServer(onSocket);
  server.on('error', (err) => logger.error({ err }, 'server error'));
  return { server, sessions };
}
