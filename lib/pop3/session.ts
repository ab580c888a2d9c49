import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from '../log.js';
import type { BlobStore } from '../blob/types.js';
import { MAX_BATCH, type Store } from '../store/types.js';
import type { Authenticator } from '../auth/password.js';
import { OutputBuffer } from '../net/output.js';
import { upgradeToTls } from '../net/tls.js';
import { LineReader, parseCommand, type LineEvent } from './parser.js';
import { Pop3Error, Pop3ParseError } from './errors.js';
import { Maildrop, MAILDROP_MAILBOX } from './maildrop.js';
import { MaildropLock } from './lock.js';
import { Pop3Encoder } from './encoder.js';
import type { Pop3CommandSpec, Pop3StateKind } from './command.js';
import {
  AUTOLOGOUT_MS,
  LOCK_TTL_MS,
  MAX_BAD_COMMANDS,
  MAX_FAILED_LOGINS,
  MAX_PENDING_BYTES,
  WHOLE_READ_BYTES,
} from './limits.js';

export interface Pop3Deps {
  store: Store;
  blobs: BlobStore;
  logger: Logger;
  authenticate: Authenticator;
  commands: Map<string, Pop3CommandSpec>;
  /** Told after QUIT changed the INBOX, so IMAP sessions of this process hear at once. */
  onChanged?: (account: string, mailbox: string) => void;
  /** This process, in lock owners (the session id is added). */
  instance: string;
  /** Maildrop lock lease; default LOCK_TTL_MS. */
  lockTtlMs?: number;
}

export interface Pop3SessionOptions {
  hostname: string;
  /** The connection arrived over TLS (port 995). */
  secure: boolean;
  /** For STLS; absent: not offered. */
  secureContext?: SecureContext;
  /** USER/PASS and AUTH without TLS (dev on loopback only, RFC 2595 §4). */
  allowInsecureAuth: boolean;
  autologoutMs?: number;
}

/** RFC 1939 §3 states, as data: what the session knows in each. */
export type Pop3State =
  | { kind: 'authorization'; user?: string }
  | { kind: 'transaction'; account: string; maildrop: Maildrop; lock: MaildropLock }
  | { kind: 'update' }
  | { kind: 'closed' };

/**
 * One POP3 connection: reads command lines, runs them one after another (PIPELINING,
 * RFC 2449 §6.6) through the dispatcher, writes replies, and keeps the session state.
 */
export class Pop3Session {
  readonly id = randomBytes(6).toString('base64url');
  state: Pop3State = { kind: 'authorization' };
  secure: boolean;
  private logger: Logger | undefined;
  private readonly reader = new LineReader();
  private readonly output: OutputBuffer;
  private running = false;
  private pendingBytes = 0;
  private rawWaiter: ((line: Buffer | null) => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failedLogins = 0;
  private badCommands = 0;
  private readonly remoteAddress: string | undefined;

  constructor(
    private socket: Socket,
    readonly deps: Pop3Deps,
    readonly options: Pop3SessionOptions,
  ) {
    this.secure = options.secure;
    this.remoteAddress = socket.remoteAddress;
    this.output = new OutputBuffer(socket);
    this.attach(socket);
  }

  get log(): Logger {
    this.logger ??= this.deps.logger.child({ session: this.id, client: this.remoteAddress });
    return this.logger;
  }

  start(): void {
    this.send(`+OK ${this.options.hostname} Mailroom POP3 ready`);
    this.armAutologout();
  }

  /** USER/PASS and AUTH are allowed: over TLS, or on dev loopback (RFC 2595 §4). */
  get authAllowed(): boolean {
    return this.secure || this.options.allowInsecureAuth;
  }

  get canStartTls(): boolean {
    return !this.secure && this.options.secureContext !== undefined;
  }

  /** The maildrop of a logged-in session; handlers of TRANSACTION commands only call this. */
  get maildrop(): Maildrop {
    if (this.state.kind !== 'transaction') throw new Error('no maildrop outside TRANSACTION');
    return this.state.maildrop;
  }

  /** RFC 2449 §5: what CAPA lists, which depends on the state and on TLS. */
  capabilities(): string[] {
    const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.state.kind === 'authorization') {
      if (this.authAllowed) caps.push('USER', 'SASL PLAIN');
      if (this.canStartTls) caps.push('STLS');
    }
    caps.push('IMPLEMENTATION Mailroom');
    return caps;
  }

  /** Writes one reply line (CRLF added). */
  send(line: string): void {
    if (!this.closed) this.output.push(line + '\r\n');
  }

  /** A multi-line response (RFC 1939 §3): the +OK line, the lines byte-stuffed, then ".". */
  sendMultiline(first: string, lines: Iterable<string>): void {
    let text = `+OK ${first}\r\n`;
    for (const line of lines) {
      text += (line.startsWith('.') ? '.' : '') + line + '\r\n';
      // Long listings go out in pieces rather than as one huge string.
      if (text.length >= 64 * 1024) {
        this.output.push(text);
        text = '';
      }
    }
    this.output.push(text + '.\r\n');
  }

  /**
   * RETR, or TOP with a line count: `+OK`, the message streamed from the BlobStore one chunk
   * at a time (waiting for the socket to drain between chunks), then ".".
   */
  async sendMessage(index: number, bodyLines?: number): Promise<void> {
    const { account, maildrop } = this.transaction();
    const uid = maildrop.uid(index);
    const [meta] = await this.deps.store.listMessages(account, MAILDROP_MAILBOX, {
      fromUid: uid,
      toUid: uid,
    });
    if (!meta) throw new Pop3Error(`Message ${index + 1} was removed by another client`);
    const encoder = new Pop3Encoder(bodyLines);
    const status =
      bodyLines === undefined ? `+OK ${maildrop.size(index)} octets` : '+OK Top of message follows';
    // A message of ordinary size is read whole (one read, much cheaper than a stream);
    // a big one streams, so memory stays flat whatever its size.
    if (maildrop.size(index) <= WHOLE_READ_BYTES) {
      const raw = await this.deps.blobs.getBuffer(meta.blobKey);
      this.send(status);
      for (const part of encoder.push(raw)) this.output.push(part);
    } else {
      const stream = await this.deps.blobs.get(meta.blobKey);
      this.send(status);
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (this.closed) break;
          for (const part of encoder.push(chunk)) this.output.push(part);
          await this.output.drained();
          if (encoder.done) break;
        }
      } catch (err) {
        // The +OK is out: the only honest thing left is to drop the connection. Nothing is
        // deleted, since the session never reaches UPDATE.
        this.log.error({ err, uid }, 'reading a message failed midway');
        this.close();
        return;
      } finally {
        stream.destroy();
      }
    }
    for (const part of encoder.end()) this.output.push(part);
  }

  /** Checks the password, takes the maildrop lock and loads the maildrop; the +OK text. */
  async login(username: string, password: string): Promise<string> {
    const account = await this.deps.authenticate(username, password);
    if (!account) {
      this.failedLogins++;
      this.state = { kind: 'authorization' };
      this.log.warn({ user: username.slice(0, 200) }, 'authentication failed');
      if (this.failedLogins >= MAX_FAILED_LOGINS) this.closeAfterReply = true;
      throw new Pop3Error('Invalid user name or password', 'AUTH');
    }
    const lock = await MaildropLock.acquire(
      this.deps.store,
      account,
      `${this.deps.instance}:${this.id}`,
      this.deps.lockTtlMs ?? LOCK_TTL_MS,
      (err) => this.log.warn({ err }, 'maildrop lock lost'),
    );
    if (!lock) {
      this.state = { kind: 'authorization' };
      throw new Pop3Error('Maildrop is in use by another session, try again later', 'IN-USE');
    }
    let maildrop: Maildrop;
    try {
      maildrop = await Maildrop.load(this.deps.store, account);
    } catch (err) {
      await lock.release();
      throw err;
    }
    if (this.closed) {
      // The client went away while we logged it in.
      await lock.release();
      return 'Gone';
    }
    this.state = { kind: 'transaction', account, maildrop, lock };
    this.log.info({ user: account, messages: maildrop.length }, 'logged in');
    const { count, octets } = maildrop.stat();
    return `Logged in, ${count} messages (${octets} octets)`;
  }

  /**
   * QUIT in TRANSACTION (RFC 1939 §6): the UPDATE state. Deletions become expunges (which
   * IMAP sessions see), messages retrieved in full get \Seen, the lock goes, and the
   * connection closes. Expunges go MAX_BATCH at a time; one that was done already removes
   * nothing, so a retry after a crash never deletes anything twice.
   */
  async update(): Promise<void> {
    const { account, maildrop, lock } = this.transaction();
    this.state = { kind: 'update' };
    const deleted = maildrop.deletedUids();
    try {
      if (deleted.length > 0 && !(await lock.confirm())) {
        throw new Pop3Error('Maildrop lock was lost, no messages deleted', 'SYS/TEMP');
      }
      for (let i = 0; i < deleted.length; i += MAX_BATCH) {
        await this.deps.store.expunge(account, MAILDROP_MAILBOX, deleted.slice(i, i + MAX_BATCH));
      }
      await this.markSeen(account, maildrop.retrievedUnseenUids());
      this.send(
        `+OK ${this.options.hostname} Mailroom POP3 signing off (${deleted.length} messages deleted)`,
      );
      this.log.info({ user: account, deleted: deleted.length }, 'maildrop updated');
    } catch (err) {
      if (err instanceof Pop3Error) this.send(`-ERR [${err.responseCode}] ${err.message}`);
      else {
        this.log.error({ err }, 'update failed');
        this.send('-ERR [SYS/TEMP] Some deleted messages were not removed');
      }
    } finally {
      if (deleted.length > 0) this.deps.onChanged?.(account, MAILDROP_MAILBOX);
      await lock.release().catch((err: unknown) => this.log.warn({ err }, 'releasing the lock failed'));
      this.close();
    }
  }

  /** As Dovecot does by default: what POP3 downloaded reads as seen in IMAP too. Best effort. */
  private async markSeen(account: string, uids: number[]) {
    try {
      for (let i = 0; i < uids.length; i += MAX_BATCH) {
        await this.deps.store.updateFlags(account, MAILDROP_MAILBOX, uids.slice(i, i + MAX_BATCH), 'add', [
          '\\Seen',
        ]);
      }
      if (uids.length > 0) this.deps.onChanged?.(account, MAILDROP_MAILBOX);
    } catch (err) {
      this.log.warn({ err }, 'marking retrieved messages seen failed');
    }
  }

  /**
   * Sends `+ prompt` and waits for the client's next line (AUTH continuations, RFC 5034 §4).
   * Null when the connection closed.
   */
  readRawLine(prompt: string): Promise<Buffer | null> {
    this.send(`+ ${prompt}`);
    return new Promise((resolve) => {
      this.rawWaiter = (line) => {
        this.rawWaiter = undefined;
        resolve(line);
      };
      this.pump();
    });
  }

  /** STLS (RFC 2595 §4): +OK in clear, the handshake, then a fresh AUTHORIZATION state. */
  async startTls(): Promise<void> {
    this.send('+OK Begin TLS negotiation');
    this.output.writeNow();
    this.reader.clear();
    const secure = await upgradeToTls(this.socket, this.options.secureContext!);
    this.socket = secure;
    this.output.setSocket(secure);
    this.secure = true;
    this.state = { kind: 'authorization' };
    this.attach(secure);
  }

  /** Ends the connection after what was written has been sent. */
  close(): void {
    if (this.closed) return;
    this.output.writeNow();
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.rawWaiter?.(null);
    this.socket.end();
  }

  private closeAfterReply = false;

  /** Leaves TRANSACTION without UPDATE: the lock goes, nothing is deleted. */
  private async abandon(): Promise<void> {
    if (this.state.kind !== 'transaction') return;
    const { lock } = this.state;
    this.state = { kind: 'closed' };
    await lock.release().catch((err: unknown) => this.log.warn({ err }, 'releasing the lock failed'));
  }

  /** Server shutdown: says so, releases the lock while the store is still open, and closes. */
  async shutdown(): Promise<void> {
    this.send('-ERR [SYS/TEMP] Server shutting down');
    await this.abandon();
    this.close();
  }

  private transaction() {
    if (this.state.kind !== 'transaction') throw new Error('not in TRANSACTION');
    return this.state;
  }

  private attach(socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.idleTimer);
      this.rawWaiter?.(null);
      // RFC 1939 §6: a session that ends without QUIT does not enter UPDATE; nothing is deleted.
      void this.abandon();
    });
  }

  private onData(chunk: Buffer) {
    this.reader.push(chunk);
    if (this.running && !this.rawWaiter) {
      // A client that pipelines faster than we answer waits on TCP, not in our memory.
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > MAX_PENDING_BYTES) this.socket.pause();
    }
    this.pump();
  }

  private pump() {
    if (this.rawWaiter) {
      const event = this.reader.next();
      if (event?.type === 'line') this.rawWaiter(Buffer.from(event.line));
      else if (event?.type === 'too-long') this.rawWaiter(Buffer.alloc(0));
      return;
    }
    if (!this.running) void this.loop();
  }

  /** Runs commands one after another, in the order they arrived. */
  private async loop() {
    this.running = true;
    try {
      while (!this.closed && !this.rawWaiter) {
        const event = this.reader.next();
        if (!event) break;
        await this.handle(event);
      }
    } catch (err) {
      this.log.error({ err }, 'session failed');
      this.send('-ERR [SYS/TEMP] Internal error');
      this.close();
    } finally {
      this.running = false;
      this.pendingBytes = 0;
      if (this.socket.isPaused()) this.socket.resume();
    }
  }

  private async handle(event: LineEvent) {
    this.armAutologout();
    if (event.type === 'too-long') return this.badCommand('Line too long');
    let command;
    try {
      command = parseCommand(event.line);
    } catch (err) {
      if (err instanceof Pop3ParseError) return this.badCommand(err.message);
      throw err;
    }
    const spec = this.deps.commands.get(command.name);
    if (!spec) return this.badCommand(`Unknown command ${command.name}`);
    if (!spec.states.includes(this.state.kind as Pop3StateKind)) {
      return this.badCommand(`${command.name} is not allowed ${stateText(this.state.kind)}`);
    }
    try {
      const text = await spec.handle({ session: this, command });
      if (text !== undefined) this.send(`+OK ${text}`);
    } catch (err) {
      if (err instanceof Pop3Error) {
        this.send(`-ERR ${err.responseCode ? `[${err.responseCode}] ` : ''}${oneLine(err.message)}`);
        if (err.bad) this.countBad();
      } else {
        this.log.error({ err, command: command.name }, 'command failed');
        this.send(`-ERR [SYS/TEMP] ${command.name} failed, try again later`);
      }
    }
    if (this.closeAfterReply) {
      this.send('-ERR Too many failed logins');
      this.close();
    }
  }

  private badCommand(text: string) {
    this.send(`-ERR ${oneLine(text)}`);
    this.countBad();
  }

  private countBad() {
    this.badCommands++;
    if (this.badCommands >= MAX_BAD_COMMANDS) {
      this.send('-ERR Too many bad commands, closing');
      this.close();
    }
  }

  /** RFC 1939 §3: an idle session is closed without entering UPDATE (nothing is deleted). */
  private armAutologout() {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.send('-ERR Autologout; idle for too long');
      this.close();
    }, this.options.autologoutMs ?? AUTOLOGOUT_MS);
    this.idleTimer.unref();
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\0]+/g, ' ').slice(0, 300);
}

function stateText(kind: Pop3State['kind']): string {
  return kind === 'authorization' ? 'before login' : kind === 'transaction' ? 'after login' : 'now';
}
