import type { Socket } from 'node:net';
import { LineClient, UnexpectedReplyError, connectWithTimeout } from './connect.js';
import { performance } from 'node:perf_hooks';

export { UnexpectedReplyError };

/** The tagged reply that ended a command, and what came before it. */
export interface Reply {
  status: 'OK' | 'NO' | 'BAD';
  /** The rest of the tagged line, e.g. "[APPENDUID 1 5] APPEND completed". */
  text: string;
  /** Untagged responses (`* ...`) that arrived while the command ran. */
  untagged: number;
  /** Their first lines (without literals), only when the command asked to collect them. */
  lines: string[];
  /** From handing the command to the kernel to reading the tagged line. */
  ms: number;
}

interface Waiter {
  tag: string | undefined;
  collect: boolean;
  untagged: number;
  lines: string[];
  start: number;
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const CRLF = Buffer.from('\r\n');
/** `{123}` or `{123+}` at the end of a response line: a literal of that many octets follows (RFC 3501 §4.3). */
const LITERAL_AT_END = /\{(\d+)\+?\}$/;

/**
 * A minimal IMAP client for load: one command at a time, no pipelining, no TLS, no
 * parsing beyond what finds the end of a response: lines, literals (which it skips by
 * their announced length, so a message body can never look like a tagged reply) and the
 * tagged status. Kept this small so that it costs little and the same next to either
 * server; imapflow parses every response into objects, which would be measured too.
 */
export class ImapLineClient extends LineClient<Waiter> {
  /** Octets of a literal still to skip. */
  private literalLeft = 0;
  /** First line of the response being read (the part before its first literal). */
  private head: string | undefined;
  private nextTag = 1;

  private constructor(socket: Socket, timeoutMs: number) {
    super(socket, timeoutMs);
  }

  /** Connects and reads the greeting, which must be `* OK` (RFC 3501 §7.1.1; PREAUTH is not expected). */
  static async open(port: number, host: string, timeoutMs: number): Promise<ImapLineClient> {
    const socket = await connectWithTimeout(port, host, timeoutMs);
    const client = new ImapLineClient(socket, timeoutMs);
    const greeting = await client.wait(undefined, true, timeoutMs);
    const line = greeting.lines[0] ?? '';
    if (!line.startsWith('* OK')) {
      client.close();
      throw new UnexpectedReplyError('greeting', line);
    }
    return client;
  }

  /**
   * Sends one command (the tag is added) and waits for its tagged reply. A literal is sent
   * as `{n+}` (LITERAL+, RFC 7888), in the same write as the line around it.
   */
  async command(
    text: string,
    options: { literal?: Buffer; collect?: boolean; timeoutMs?: number; expectOk?: boolean } = {},
  ): Promise<Reply> {
    const tag = `A${this.nextTag++}`;
    const reply = this.wait(tag, options.collect ?? false, options.timeoutMs ?? this.timeoutMs);
    if (options.literal) {
      this.socket.write(
        Buffer.concat([
          Buffer.from(`${tag} ${text} {${options.literal.length}+}\r\n`),
          options.literal,
          CRLF,
        ]),
      );
    } else {
      this.socket.write(`${tag} ${text}\r\n`);
    }
    const result = await reply;
    if ((options.expectOk ?? true) && result.status !== 'OK') {
      throw new UnexpectedReplyError(text.split(' ', 2).join(' '), `${result.status} ${result.text}`);
    }
    return result;
  }

  /** IDLE (RFC 2177): sends the command and returns once the server answered `+`. */
  async idle(): Promise<string> {
    const tag = `A${this.nextTag++}`;
    const reply = this.wait(undefined, true, this.timeoutMs, true);
    this.socket.write(`${tag} IDLE\r\n`);
    const line = (await reply).lines.at(-1) ?? '';
    if (!line.startsWith('+')) throw new UnexpectedReplyError('IDLE', line);
    return tag;
  }

  /** LOGOUT politely; the socket is closed either way. */
  async logout(): Promise<void> {
    try {
      await this.command('LOGOUT');
    } finally {
      this.close();
    }
  }

  /** The connection failed or the server closed it. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Resolves at the tagged reply for `tag`; with tag undefined, at the first response
   * (the greeting) or, with `continuation`, at the first `+` line.
   */
  private wait(
    tag: string | undefined,
    collect: boolean,
    timeoutMs: number,
    continuation = false,
  ): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no reply within ${timeoutMs} ms`));
        this.socket.destroy();
      }, timeoutMs);
      this.waiter = {
        tag: continuation ? '+' : tag,
        collect,
        untagged: 0,
        lines: [],
        start: performance.now(),
        resolve,
        reject,
        timer,
      };
    });
  }

  protected onData(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (at < buf.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, buf.length - at);
        this.literalLeft -= take;
        at += take;
        continue;
      }
      const end = buf.indexOf(CRLF, at);
      if (end === -1) break;
      const line = buf.toString('latin1', at, end);
      at = end + 2;
      this.head ??= line;
      const literal = line.endsWith('}') ? LITERAL_AT_END.exec(line) : null;
      if (literal) {
        this.literalLeft = Number(literal[1]);
        continue;
      }
      const head = this.head;
      this.head = undefined;
      this.onResponse(head);
    }
    buf = buf.subarray(at);
    // Keep only what is not consumed; copy so a large chunk is not pinned by a small tail.
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  private onResponse(head: string): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (waiter.tag === undefined || (waiter.tag === '+' && head.startsWith('+'))) {
      waiter.lines.push(head);
      this.settle(waiter, { status: 'OK', text: '' });
      return;
    }
    if (head.startsWith('* ') || head.startsWith('+')) {
      waiter.untagged++;
      if (waiter.collect) waiter.lines.push(head);
      return;
    }
    if (head.startsWith(waiter.tag + ' ')) {
      const rest = head.slice(waiter.tag.length + 1);
      const space = rest.indexOf(' ');
      const status = (space === -1 ? rest : rest.slice(0, space)).toUpperCase();
      this.settle(waiter, {
        status: status === 'OK' || status === 'NO' ? status : 'BAD',
        text: space === -1 ? '' : rest.slice(space + 1),
      });
    }
  }

  private settle(waiter: Waiter, result: { status: Reply['status']; text: string }): void {
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve({
      ...result,
      untagged: waiter.untagged,
      lines: waiter.lines,
      ms: performance.now() - waiter.start,
    });
  }
}
