import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from '../log.js';
import type { BlobStore } from '../blob/types.js';
import type { Store } from '../store/types.js';
import { OutputBuffer } from '../net/output.js';
import { upgradeToTls } from '../net/tls.js';
import { CommandFramer, type FramerEvent } from './framer.js';
import { parseCommand, ImapParseError } from './parser.js';
import { ImapError } from './errors.js';
import { formatSequenceSet } from './sequence.js';
import { StoreError } from '../store/errors.js';
import type { CommandSpec, StateKind } from './command.js';
import type { ImapCommand } from './types.js';
import type { SelectedMailbox, MailboxUpdate } from './selected.js';
import type { MailboxNotifier } from './notifier.js';
import type { MessageMetaCache } from './meta-cache.js';
import {
  APPEND_LIMIT,
  AUTOLOGOUT_AUTHENTICATED_MS,
  AUTOLOGOUT_UNAUTHENTICATED_MS,
  MAX_LINE_BYTES,
} from './limits.js';

/** Input buffered while a command runs before the socket is paused. */
const MAX_PENDING_BYTES = 1 << 20;
import type { Wire } from './encode.js';

export interface ImapDeps {
  store: Store;
  blobs: BlobStore;
  logger: Logger;
  notifier: MailboxNotifier;
  metaCache: MessageMetaCache;
  /** Returns the account when the password is right. */
  authenticate(username: string, password: string): Promise<string | undefined>;
  commands: Map<string, CommandSpec>;
}

export interface ImapSessionOptions {
  hostname: string;
  /** The connection arrived over TLS (implicit-TLS port). */
  secure: boolean;
  /** For STARTTLS; absent: not offered. */
  secureContext?: SecureContext;
  /** LOGIN and AUTHENTICATE without TLS (dev on loopback only). */
  allowInsecureAuth: boolean;
  /** How often IDLE sends `* OK Still here`; default IDLE_KEEPALIVE_MS. */
  idleKeepaliveMs?: number;
  /** Autologout timers (RFC 3501 §5.4); defaults from limits.ts. */
  autologoutMs?: { unauthenticated: number; authenticated: number };
}

/** RFC 3501 §3 states, as data: what the session knows in each. */
export type SessionState =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; account: string }
  | { kind: 'selected'; account: string; mailbox: SelectedMailbox }
  | { kind: 'logout' };

/** Extensions a client turned on with ENABLE (RFC 5161). */
export interface Enabled {
  condstore: boolean;
  qresync: boolean;
  utf8: boolean;
}

/**
 * One IMAP connection: reads commands through the framer and parser, runs them one after
 * another through the dispatcher, writes responses, and keeps the session state.
 */
export class ImapSession {
  readonly id = randomBytes(6).toString('base64url');
  state: SessionState = { kind: 'not-authenticated' };
  readonly enabled: Enabled = { condstore: false, qresync: false, utf8: false };
  private logger: Logger | undefined;
  secure: boolean;
  /** The result of the last SEARCH RETURN (SAVE), as UIDs (RFC 5182 `$`); cleared by SELECT. */
  savedSearch: number[] | undefined;
  private framer: CommandFramer;
  private running = false;
  private pendingBytes = 0;
  private rawWaiter: ((line: Buffer | null) => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly output: OutputBuffer;

  constructor(
    private socket: Socket,
    readonly deps: ImapDeps,
    readonly options: ImapSessionOptions,
  ) {
    this.secure = options.secure;
    this.output = new OutputBuffer(socket);
    this.remoteAddress = socket.remoteAddress;
    this.framer = this.newFramer();
    this.attach(socket);
  }

  private readonly remoteAddress: string | undefined;

  /** The session's logger, made on first use: most idle sessions never log, and a child logger costs memory. */
  get log(): Logger {
    this.logger ??= this.deps.logger.child({ session: this.id, client: this.remoteAddress });
    return this.logger;
  }

  start(): void {
    this.send(
      `* OK [CAPABILITY ${this.capabilities().join(' ')}] ${this.options.hostname} Mailroom IMAP ready`,
    );
    this.armAutologout();
  }

  get account(): string | undefined {
    return this.state.kind === 'authenticated' || this.state.kind === 'selected'
      ? this.state.account
      : undefined;
  }

  get selected(): SelectedMailbox | undefined {
    return this.state.kind === 'selected' ? this.state.mailbox : undefined;
  }

  /** LOGIN and AUTHENTICATE are allowed: over TLS, or on dev loopback (RFC 3501 §6.2.3 LOGINDISABLED). */
  get authAllowed(): boolean {
    return this.secure || this.options.allowInsecureAuth;
  }

  get canStartTls(): boolean {
    return !this.secure && this.options.secureContext !== undefined;
  }

  capabilities(): string[] {
    const caps = ['IMAP4rev1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT'];
    if (this.state.kind === 'not-authenticated') {
      if (this.canStartTls) caps.push('STARTTLS');
      if (this.authAllowed) caps.push('AUTH=PLAIN');
      else caps.push('LOGINDISABLED');
      return caps;
    }
    caps.push(
      'UIDPLUS',
      'MOVE',
      'CHILDREN',
      'SPECIAL-USE',
      'CREATE-SPECIAL-USE',
      'LIST-EXTENDED',
      'LIST-STATUS',
      'CONDSTORE',
      'QRESYNC',
      'ESEARCH',
      'SEARCHRES',
      'BINARY',
      `APPENDLIMIT=${APPEND_LIMIT}`,
      'UTF8=ACCEPT',
    );
    return caps;
  }

  /** Writes one response line (CRLF added). */
  send(line: string | Wire): void {
    if (this.closed) return;
    if (typeof line === 'string') this.output.push(line + '\r\n');
    else {
      for (const chunk of line) this.output.push(chunk);
      this.output.push('\r\n');
    }
  }

  /** Sends untagged updates of the selected mailbox (EXPUNGE, EXISTS, FETCH FLAGS). */
  sendUpdates(updates: MailboxUpdate[]): void {
    // After ENABLE QRESYNC, expunges are reported as VANISHED UIDs (RFC 7162 §3.2.10).
    if (this.enabled.qresync) {
      const gone = updates.flatMap((u) => (u.kind === 'expunge' ? [u.uid] : []));
      if (gone.length) this.send(`* VANISHED ${formatSequenceSet(gone)}`);
    }
    for (const update of updates) {
      if (update.kind === 'expunge') {
        if (!this.enabled.qresync) this.send(`* ${update.seq} EXPUNGE`);
      } else if (update.kind === 'exists') this.send(`* ${update.count} EXISTS`);
      else {
        const modseq = this.enabled.condstore ? ` MODSEQ (${update.modseq})` : '';
        this.send(`* ${update.seq} FETCH (UID ${update.uid} FLAGS (${update.flags.join(' ')})${modseq})`);
      }
    }
  }

  /** Syncs the selected mailbox and sends what changed. */
  async announce(allowExpunge: boolean): Promise<void> {
    const selected = this.selected;
    if (!selected) return;
    try {
      this.sendUpdates(await selected.sync(this.deps.store, allowExpunge));
    } catch (err) {
      // Another session deleted or renamed the selected mailbox: nothing sensible can be
      // said about sequence numbers any more, so end the session, as Dovecot does.
      if (err instanceof StoreError && err.code === 'NOT_FOUND') {
        this.send('* BYE Selected mailbox was deleted or renamed');
        this.close();
        return;
      }
      throw err;
    }
  }

  /**
   * Sends `+ text` and waits for the client's next line, read raw (no literal parsing):
   * AUTHENTICATE responses and IDLE's DONE. Null when the connection closed.
   */
  readRawLine(prompt: string): Promise<Buffer | null> {
    this.framer.rawLines = true;
    this.send(`+ ${prompt}`);
    return new Promise((resolve) => {
      this.rawWaiter = (line) => {
        this.framer.rawLines = false;
        this.rawWaiter = undefined;
        resolve(line);
      };
      // The line may be here already (a client that pipelined IDLE and DONE).
      this.pump();
    });
  }

  /** Waits until the socket has taken what was written, so a large FETCH does not pile up in memory. */
  async flush(): Promise<void> {
    if (!this.closed) await this.output.drained();
  }

  /** STARTTLS: after the tagged OK, the handshake; data the client sent before it is dropped (RFC 3501 §6.2.1). */
  async startTls(): Promise<void> {
    const context = this.options.secureContext!;
    // The OK goes out in clear, before the handshake starts.
    this.output.writeNow();
    const secure = await upgradeToTls(this.socket, context);
    this.socket = secure;
    this.output.setSocket(secure);
    this.secure = true;
    this.framer = this.newFramer();
    this.attach(secure);
  }

  setState(state: SessionState): void {
    if (state.kind !== 'selected' || this.state.kind !== 'selected' || state.mailbox !== this.state.mailbox) {
      this.savedSearch = undefined;
    }
    this.state = state;
    this.armAutologout();
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

  private newFramer(): CommandFramer {
    return new CommandFramer({ maxLineBytes: MAX_LINE_BYTES });
  }

  private attach(socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.idleTimer);
      this.rawWaiter?.(null);
      this.deps.notifier.unsubscribeAll(this);
    });
  }

  private onData(chunk: Buffer) {
    this.framer.write(chunk);
    if (this.running && !this.rawWaiter) {
      // A client that pipelines faster than we answer waits on TCP, not in our memory.
      this.pendingBytes += chunk.length;
      if (this.pendingBytes > MAX_PENDING_BYTES) this.socket.pause();
    }
    this.pump();
  }

  /** Hands buffered input to whoever waits for it: a raw-line reader, or the command loop. */
  private pump() {
    if (this.rawWaiter) {
      const event = this.nextEvent();
      if (event?.type === 'line') this.rawWaiter(event.bytes);
      return;
    }
    if (!this.running) void this.loop();
  }

  private nextEvent(): FramerEvent | null {
    try {
      return this.framer.next();
    } catch (err) {
      this.log.warn({ err }, 'framer failed');
      this.send('* BYE Internal error');
      this.close();
      return null;
    }
  }

  /** Runs commands one after another, in the order they arrived (RFC 3501 §5.5). */
  private async loop() {
    this.running = true;
    try {
      while (!this.closed && !this.rawWaiter) {
        const event = this.nextEvent();
        if (!event) break;
        if (event.type === 'continue') this.send(`+ ${event.text}`);
        else await this.handleEvent(event);
      }
    } finally {
      this.running = false;
      this.pendingBytes = 0;
      if (this.socket.isPaused()) this.socket.resume();
    }
  }

  private async handleEvent(event: FramerEvent) {
    if (event.type === 'error') {
      const tag = event.tag ?? '*';
      if (event.kind === 'line-too-long') this.send(`${tag} BAD Command line too long`);
      // RFC 7889 §3: an APPEND over APPENDLIMIT is NO [TOOBIG]; any other oversized literal is a bad command.
      else if (event.command === 'APPEND') this.send(`${tag} NO [TOOBIG] Message too large`);
      else this.send(`${tag} BAD Literal too large`);
      return;
    }
    if (event.type !== 'command') return;
    let command: ImapCommand;
    try {
      command = parseCommand(event.bytes);
    } catch (err) {
      if (err instanceof ImapParseError) {
        this.send(`${err.tag ?? '*'} BAD ${oneLine(err.message)}`);
        return;
      }
      throw err;
    }
    this.armAutologout();
    await this.dispatch(command);
  }

  private async dispatch(command: ImapCommand) {
    const { tag } = command;
    let name = command.name;
    let args = command.args;
    let uid = false;
    if (name === 'UID') {
      const sub = args[0];
      if (!sub || sub.type !== 'atom') return this.send(`${tag} BAD UID needs a command`);
      name = sub.value.toUpperCase();
      args = args.slice(1);
      uid = true;
    }
    const spec = this.deps.commands.get(name);
    if (!spec || (uid && !spec.uid))
      return this.send(`${tag} BAD Unknown command ${uid ? 'UID ' : ''}${oneLine(name)}`);
    if (!spec.states.includes(this.state.kind as StateKind)) {
      return this.send(`${tag} BAD ${name} is not allowed ${stateText(this.state.kind)}`);
    }
    try {
      const done = await spec.handle({ session: this, command, args, uid });
      if (this.closed || done?.answered) return;
      if (this.state.kind === 'selected' && name !== 'SELECT' && name !== 'EXAMINE') {
        await this.announce(spec.expungeSafe ? spec.expungeSafe(uid) : true);
      }
      if (this.state.kind === 'logout') {
        this.send(`${tag} OK ${done?.text ?? 'done'}`);
        this.close();
        return;
      }
      this.send(
        `${tag} OK ${done?.code ? `[${done.code}] ` : ''}${done?.text ?? `${uid ? 'UID ' : ''}${name} completed`}`,
      );
    } catch (err) {
      if (err instanceof ImapError) {
        this.send(
          `${tag} ${err.status} ${err.responseCode ? `[${err.responseCode}] ` : ''}${oneLine(err.message)}`,
        );
        return;
      }
      const mapped = err instanceof StoreError ? STORE_REPLIES[err.code] : undefined;
      if (mapped) {
        this.send(`${tag} ${mapped[0]} [${mapped[1]}] ${oneLine(err instanceof Error ? err.message : '')}`);
        return;
      }
      this.log.error({ err, command: name }, 'command failed');
      this.send(`${tag} NO [SERVERBUG] ${name} failed, try again`);
    }
  }

  private armAutologout() {
    clearTimeout(this.idleTimer);
    const limits = this.options.autologoutMs ?? {
      unauthenticated: AUTOLOGOUT_UNAUTHENTICATED_MS,
      authenticated: AUTOLOGOUT_AUTHENTICATED_MS,
    };
    const ms = this.state.kind === 'not-authenticated' ? limits.unauthenticated : limits.authenticated;
    this.idleTimer = setTimeout(() => {
      this.send('* BYE Autologout; idle for too long');
      this.close();
    }, ms);
    this.idleTimer.unref();
  }
}

/** Store errors a handler did not turn into a reply itself: their RFC 5530 response codes. */
const STORE_REPLIES: Record<string, ['NO' | 'BAD', string]> = {
  NOT_FOUND: ['NO', 'NONEXISTENT'],
  ALREADY_EXISTS: ['NO', 'ALREADYEXISTS'],
  INVALID_NAME: ['NO', 'CANNOT'],
  INVALID_ARGUMENT: ['NO', 'CANNOT'],
  LIMIT: ['NO', 'LIMIT'],
  CONFLICT: ['NO', 'INUSE'],
};

function oneLine(text: string): string {
  return text.replace(/[\r\n\0]+/g, ' ').slice(0, 300);
}

function stateText(kind: SessionState['kind']): string {
  switch (kind) {
    case 'not-authenticated':
      return 'before login';
    case 'authenticated':
      return 'without a selected mailbox';
    case 'selected':
      return 'with a mailbox selected';
    default:
      return 'now';
  }
}
