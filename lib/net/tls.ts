import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';

/**
 * STARTTLS (IMAP, RFC 3501 §6.2.1) and STLS (POP3, RFC 2595 §4): the server side of the
 * handshake on a connection that began in clear. The plain socket's data listeners are
 * removed first, so bytes a client sent before the handshake are never read as commands.
 */
export async function upgradeToTls(plain: Socket, secureContext: SecureContext): Promise<TLSSocket> {
  plain.removeAllListeners('data');
  const secure = new TLSSocket(plain, { isServer: true, secureContext });
  await new Promise<void>((resolve, reject) => {
    secure.once('secure', resolve);
    secure.once('error', reject);
  });
  return secure;
}
