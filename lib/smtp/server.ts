import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { BlobStore } from '../blob/types.js';
import type { JobQueue } from '../queue/types.js';
import type { IngestJob } from '../ingest/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../log.js';
import { createAuthenticator } from '../auth/password.js';
import { resolveRecipient } from '../routing/resolve.js';
import { recipientLookup, type Directory } from '../routing/directory-cache.js';
import { normalizeAddress, splitAddress } from '../routing/address.js';
import { ownsAddress } from '../routing/ownership.js';
import { DataCheck } from './data-check.js';
import { newQueueId, rawBlobKey } from './ids.js';
import { receivedHeader } from './received.js';
import {
  MAX_AUTH_LINE,
  MAX_COMMAND_LINE,
  MAX_DOMAIN,
  MAX_LOCAL_PART,
  MAX_PATH,
  MAX_TEXT_LINE,
} from './limits.js';

export type SmtpMode = 'mx' | 'submission';

export interface SmtpDeps {
  blobs: BlobStore;
  queue: JobQueue<IngestJob>;
  store: Store;
  /** Where RCPT reads the directory (a DirectoryCache); unset: from the store. */
  directory?: Directory;
  logger: Logger;
  /** Called after a job is durable, so an in-process runner can pick it up at once. */
  onQueued?: (job: IngestJob) => void;
}

export interface SmtpOptions {
  mode: SmtpMode;
  hostname: string;
  maxMessageBytes: number;
  maxRecipients: number;
  /** AUTH without TLS (submission on loopback in dev only). */
  allowInsecureAuth?: boolean;
  /** Implicit TLS (port 465). */
  secure?: boolean;
  /**
   * TLS terminated in front of this listener (the load balancer's 465): the socket is plain
   * text but the session counts as TLS (AUTH allowed, no STARTTLS, "ESMTPSA" in Received:).
   * Only for a port that nothing but the load balancer can reach (lib/config.ts).
   */
  tlsOffloaded?: boolean;
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** An error whose text starts with its own enhanced status code (RFC 3463). */
export function smtpError(code: number, enhanced: string, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(`${enhanced} ${text}`), { responseCode: code });
}

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

/** Commands RFC 5321 lets us refuse; they answer 502 (§4.2.4, §3.5.2 for EXPN). */
const NOT_IMPLEMENTED = ['EXPN', 'TURN', 'SEND', 'SOML', 'SAML'];

/**
 * The parts of smtp-server's connection we adjust. smtp-server keeps these on the
 * connection object; tests in test/smtp pin the behaviour, so a change in the library
 * shows up there.
 */
interface Connection {
  send(code: number, data?: string | string[], context?: string | false): void;
  _onCommand(command: Buffer, callback: () => void): void;
  _nextHandler: unknown;
  [handler: `handler_${string}`]: (command: Buffer, callback: () => void) => void;
}

/**
 * smtp-server with the RFC 5321 behaviour it leaves out: the 512-octet command line
 * limit answered without dropping the session, 502 for the commands we do not offer,
 * a HELP listing, and replies that carry their own enhanced status code.
 */
class MailroomSmtpServer extends SMTPServer {
  override connect(socket: Socket | TLSSocket, socketOptions: unknown): void {
    super.connect(socket, socketOptions as never);
    const connections = [...(this as unknown as { connections: Set<Connection> }).connections];
    const connection = connections[connections.length - 1];
    if (connection) adjustConnection(connection);
  }
}

function adjustConnection(connection: Connection) {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    if (typeof data === 'string' && ENHANCED_PREFIX.test(data)) return send(code, data, false);
    return send(code, data, context);
  };
  const onCommand = connection._onCommand.bind(connection);
  connection._onCommand = (command, callback) => {
    // The line arrives without its CRLF; AUTH and its continuation lines have their own limit.
    const limit =
      connection._nextHandler || /^AUTH /i.test(command.subarray(0, 5).toString('latin1'))
        ? MAX_AUTH_LINE
        : MAX_COMMAND_LINE;
    if (command.length + 2 > limit) {
      send(500, '5.5.2 Line too long', false);
      setImmediate(callback);
      return;
    }
    onCommand(command, callback);
  };
  for (const name of NOT_IMPLEMENTED) {
    connection[`handler_${name}`] = (_command, callback) => {
      send(502, '5.5.1 Command not implemented', false);
      callback();
    };
  }
  connection.handler_HELP = (_command, callback) => {
    send(
      214,
      ['2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP AUTH', '2.0.0 End of HELP'],
      false,
    );
    callback();
  };
}

function sessionLog(logger: Logger, session: SMTPServerSession) {
  return logger.child({ session: session.id, client: session.remoteAddress });
}

/** Checks the sizes of RFC 5321 §4.5.3.1 that smtp-server leaves to us. */
function checkPath(address: string): Error | undefined {
  const parts = splitAddress(address);
  if (address.length + 2 > MAX_PATH) return smtpError(501, '5.1.3', 'Path too long');
  if (!parts) return smtpError(501, '5.1.3', 'Bad address syntax');
  if (Buffer.byteLength(parts.local) > MAX_LOCAL_PART) return smtpError(501, '5.1.3', 'Local part too long');
  if (Buffer.byteLength(parts.domain) > MAX_DOMAIN) return smtpError(501, '5.1.3', 'Domain too long');
  return undefined;
}

function fail(callback: (err?: Error | null) => void, err: Error) {
  callback(err);
}

export function createSmtpServer(deps: SmtpDeps, options: SmtpOptions): SMTPServer {
  const { store, blobs, queue, logger } = deps;
  const recipients = recipientLookup(store, deps.directory);
  const submission = options.mode === 'submission';
  const authenticate = createAuthenticator(store);

  const serverOptions: SMTPServerOptions = {
    name: options.hostname,
    banner: `Mailroom ${submission ? 'submission' : 'ESMTP'}`,
    size: options.maxMessageBytes,
    // smtp-server's `secured`: the TLS handshake was done by someone else, the session is secure.
    ...(options.tlsOffloaded ? { secure: true, secured: true } : { secure: options.secure ?? false }),
    ...(options.tls && !options.tlsOffloaded
      ? { key: options.tls.key, cert: options.tls.cert }
      : { hideSTARTTLS: true }),
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !submission,
    disabledCommands: submission ? [] : ['AUTH'],
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    hideDSN: true,
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    // Received: names the client's own HELO and address; reverse DNS would stall every
    // connection on a resolver that is down.
    disableReverseLookup: true,
    maxClients: 1000,
    socketTimeout: 5 * 60_000,
    closeTimeout: 5_000,

    onAuth(auth, session, callback) {
      const log = sessionLog(logger, session);
      const username = normalizeAddress(auth.username ?? '');
      void (async () => {
        if (typeof auth.password === 'string' && (await authenticate(username, auth.password))) {
          log.info({ user: username }, 'authenticated');
          return callback(null, { user: username });
        }
        log.warn({ user: username }, 'authentication failed');
        callback(smtpError(535, '5.7.8', 'Authentication credentials invalid'));
      })().catch((err: unknown) => {
        log.error({ err }, 'authentication backend failed');
        callback(smtpError(454, '4.7.0', 'Temporary authentication failure'));
      });
    },

    onMailFrom(address, session, callback) {
      const from = address.address;
      if (from === '') {
        // The null reverse path (RFC 5321 §4.5.5) is for bounces; an account does not send them.
        return submission
          ? fail(callback, smtpError(550, '5.7.1', 'Null sender not allowed on submission'))
          : callback();
      }
      const bad = checkPath(from);
      if (bad) return fail(callback, bad);
      if (!submission) return callback();
      void ownsAddress(store, String(session.user), from)
        .then((owned) =>
          owned
            ? callback()
            : fail(callback, smtpError(550, '5.7.1', `Sender address not owned by ${String(session.user)}`)),
        )
        .catch((err: unknown) => {
          sessionLog(logger, session).error({ err }, 'ownership check failed');
          fail(callback, smtpError(451, '4.3.0', 'Temporary failure, try again later'));
        });
    },

    onRcptTo(address, session, callback) {
      const log = sessionLog(logger, session);
      if (session.envelope.rcptTo.length >= options.maxRecipients) {
        return fail(callback, smtpError(452, '4.5.3', 'Too many recipients'));
      }
      const bad = checkPath(address.address);
      if (bad) return fail(callback, bad);
      void resolveRecipient(recipients, address.address)
        .then((resolution) => {
          switch (resolution.status) {
            case 'local':
              return callback();
            case 'foreign':
              // Mail for other domains only leaves for an authenticated account: never an open relay.
              return submission ? callback() : fail(callback, smtpError(550, '5.7.1', 'Relaying denied'));
            case 'unknown':
              return fail(callback, smtpError(550, '5.1.1', 'No such user here'));
            case 'rejected':
              return fail(callback, smtpError(550, '5.7.1', resolution.message.replace(/[\r\n]/g, ' ')));
          }
        })
        .catch((err: unknown) => {
          log.error({ err }, 'recipient lookup failed');
          fail(callback, smtpError(451, '4.3.0', 'Temporary failure, try again later'));
        });
    },

    onData(stream, session, callback) {
      const log = sessionLog(logger, session);
      const received = new Date();
      const id = newQueueId(received.getTime());
      const blobKey = rawBlobKey(id, received);
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      const trace = receivedHeader({
        helo: session.hostNameAppearsAs ?? 'unknown',
        clientAddress: session.remoteAddress,
        clientHostname: session.clientHostname,
        hostname: options.hostname,
        id,
        tls: Boolean(session.secure),
        authenticated: Boolean(session.user),
        esmtp: session.transmissionType !== 'SMTP',
        rcptTo,
        date: received,
      });
      const check = new DataCheck();
      stream.on('error', (err) => check.destroy(err));
      const body = Readable.from(
        (async function* () {
          yield Buffer.from(trace, 'latin1');
          yield* stream.pipe(check);
        })(),
      );
      void (async () => {
        let stored = false;
        try {
          await blobs.put(blobKey, body);
          stored = true;
          const sizeExceeded = (stream as { sizeExceeded?: boolean }).sizeExceeded;
          if (sizeExceeded) {
            await blobs.delete(blobKey);
            // smtp-server answers 552 itself when the stream was over the limit.
            return callback(smtpError(552, '5.3.4', 'Message size exceeds fixed maximum message size'));
          }
          if (check.lineTooLong) {
            await blobs.delete(blobKey);
            return callback(smtpError(500, '5.5.2', `Line too long (more than ${MAX_TEXT_LINE} octets)`));
          }
          if (submission) {
            const refusal = await checkHeaderFrom(store, String(session.user), check.head);
            if (refusal) {
              await blobs.delete(blobKey);
              return callback(refusal);
            }
          }
          const job: IngestJob = {
            id,
            blobKey,
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address || null : null,
            rcptTo,
            clientAddress: session.remoteAddress,
            helo: session.hostNameAppearsAs ?? '',
            tls: Boolean(session.secure),
            receivedAt: received.toISOString(),
            ...(session.user ? { authenticatedAs: String(session.user) } : {}),
          };
          await queue.send(job);
          log.info({ id, bytes: check.bytes, rcpt: rcptTo.length }, 'message queued');
          deps.onQueued?.(job);
          callback(null, `2.0.0 Ok: queued as ${id}`);
        } catch (err) {
          log.error({ err, id, stored }, 'could not queue message');
          // Drain what is left so the session can go on with its next command.
          stream.resume();
          if (stored) await blobs.delete(blobKey).catch(() => undefined);
          callback(smtpError(451, '4.3.0', 'Temporary failure, try again later'));
        }
      })();
    },
  };

  const server = new MailroomSmtpServer(serverOptions);
  server.on('error', (err) => logger.warn({ err }, 'smtp connection error'));
  return server;
}

/** Submission: the From header must name only addresses the account owns. */
async function checkHeaderFrom(store: Store, account: string, head: Buffer): Promise<Error | undefined> {
  const text = head.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const headers = (end === -1 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const fromLine = headers.split(/\r?\n/).find((line) => /^from:/i.test(line));
  if (!fromLine) return smtpError(550, '5.6.0', 'Message has no From header');
  const addresses = addressparser(fromLine.slice(5), { flatten: true }).map((a) => a.address);
  if (addresses.length === 0) return smtpError(550, '5.6.0', 'From header has no address');
  for (const address of addresses) {
    if (!(await ownsAddress(store, account, address))) {
      return smtpError(550, '5.7.1', `From address not owned by ${account}`);
    }
  }
  return undefined;
}
