import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LineClient, UnexpectedReplyError, connectWithTimeout } from './connect.js';

export { UnexpectedReplyError };

/** A single-line reply, or the status line of a multi-line one. */
export interface Pop3Reply {
  /** The status line without CRLF, e.g. "+OK 1000 52406272". */
  line: string;
  /** From handing the command to the kernel to reading the whole reply. */
  ms: number;
}

/** A multi-line reply (RFC 1939 §3): the status line, then lines up to CRLF "." CRLF. */
export interface Pop3MultiReply extends Pop3Reply {
  /** Octets of the body as they came over the wire: byte-stuffing in, the final ".\r\n" out. */
  octets: number;
  /** The body's octets once byte-stuffing is undone: the message size, for RETR. */
  size: number;
  /** The body's lines, only when the command asked to collect them (LIST, UIDL). */
  lines: string[];
  /** From handing the command to the kernel to the first octet of the reply. */
  firstByteMs: number;
}

interface Waiter {
  multiline: boolean;
  collect: boolean;
  start: number;
  firstByte: number | undefined;
  resolve: (reply: Pop3MultiReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** The status line, once read; before that, the body has not started. */
  status: string | undefined;
  octets: number;
  stuffed: number;
  lines: string[];
  /** Part of a line still to be collected (collect only). */
  partial: string;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * A minimal POP3 client for load: one command at a time, no pipelining, no TLS. A
 * multi-line reply is not parsed into lines unless asked (LIST, UIDL): the client scans
 * for the lines that start with "." with indexOf, counting octets, until the CRLF "." CRLF
 * that ends the reply; so that a 20 MB RETR costs this side little and the same next to
 * either server.
 */
export class Pop3LineClient extends LineClient<Waiter> {
  /** In a multi-line body: the next octet starts a line. */
  private atLineStart = true;
  /** A line that started with "." so far: 1 = ".", 2 = ".\r" (CRLF "." CRLF ends the body). */
  private dotState = 0;

  private constructor(socket: Socket, timeoutMs: number) {
    super(socket, timeoutMs);
  }

  /** Connects and reads the greeting, which must be `+OK` (RFC 1939 §4). */
  static async open(port: number, host: string, timeoutMs: number): Promise<Pop3LineClient> {
    const socket = await connectWithTimeout(port, host, timeoutMs);
    const client = new Pop3LineClient(socket, timeoutMs);
    try {
      const greeting = await client.wait(false, false, timeoutMs);
      if (!greeting.line.startsWith('+OK')) throw new UnexpectedReplyError('greeting', greeting.line);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** A command with a single-line reply, which must be +OK. */
  async command(text: string, timeoutMs = this.timeoutMs): Promise<Pop3Reply> {
    const reply = this.wait(false, false, timeoutMs);
    this.socket.write(`${text}\r\n`);
    const result = await reply;
    if (!result.line.startsWith('+OK')) throw new UnexpectedReplyError(stepOf(text), result.line);
    return { line: result.line, ms: result.ms };
  }

  /** A command with a multi-line reply (LIST, UIDL, RETR, TOP), which must be +OK. */
  async multiline(
    text: string,
    options: { collect?: boolean; timeoutMs?: number } = {},
  ): Promise<Pop3MultiReply> {
    const reply = this.wait(true, options.collect ?? false, options.timeoutMs ?? this.timeoutMs);
    this.socket.write(`${text}\r\n`);
    const result = await reply;
    if (!result.line.startsWith('+OK')) throw new UnexpectedReplyError(stepOf(text), result.line);
    return result;
  }

  /** QUIT politely; the socket is closed either way. */
  async quit(): Promise<Pop3Reply> {
    try {
      return await this.command('QUIT');
    } finally {
      this.close();
    }
  }

  private wait(multiline: boolean, collect: boolean, timeoutMs: number): Promise<Pop3MultiReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no reply within ${timeoutMs} ms`));
        this.socket.destroy();
      }, timeoutMs);
      this.waiter = {
        multiline,
        collect,
        start: performance.now(),
        firstByte: undefined,
        resolve,
        reject,
        timer,
        status: undefined,
        octets: 0,
        stuffed: 0,
        lines: [],
        partial: '',
      };
    });
  }

  protected onData(chunk: Buffer): void {
    const waiter = this.waiter;
    if (waiter && waiter.firstByte === undefined) waiter.firstByte = performance.now();
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (at < buf.length && this.waiter) {
      const w = this.waiter;
      if (w.status === undefined) {
        const end = buf.indexOf('\r\n', at, 'latin1');
        if (end === -1) break;
        w.status = buf.toString('latin1', at, end);
        at = end + 2;
        // Only +OK opens a multi-line body; -ERR is one line whatever the command.
        if (!w.multiline || !w.status.startsWith('+OK')) this.settle(w);
        else {
          this.atLineStart = true;
          this.dotState = 0;
        }
        continue;
      }
      at = this.body(w, buf, at);
    }
    buf = buf.subarray(at);
    // Keep only what is not consumed; copy so a large chunk is not pinned by a small tail.
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  /**
   * Reads body octets from `at`: counts them and the stuffed dots, and settles the waiter at
   * CRLF "." CRLF. Returns where it stopped (the end of the buffer, or after the terminator).
   */
  private body(w: Waiter, buf: Buffer, at: number): number {
    const start = at;
    let i = at;
    while (i < buf.length) {
      if (this.dotState === 1) {
        if (buf[i] === CR) {
          this.dotState = 2;
          i++;
          continue;
        }
        // "." and more on the line: a stuffed dot.
        w.stuffed++;
        this.dotState = 0;
      } else if (this.dotState === 2) {
        if (buf[i] === LF) {
          // CRLF "." CRLF: the end; the terminating ".\r\n" is not body.
          i++;
          w.octets += i - start - 3;
          if (w.collect) {
            this.collectLines(w, buf.toString('latin1', start, i));
            // The last line collected is the terminating "." itself.
            w.lines.pop();
          }
          this.settle(w);
          return i;
        }
        w.stuffed++;
        this.dotState = 0;
      } else if (this.atLineStart) {
        this.atLineStart = false;
        if (buf[i] === DOT) {
          this.dotState = 1;
          i++;
          continue;
        }
      }
      const lf = buf.indexOf(LF, i);
      if (lf === -1) {
        i = buf.length;
        break;
      }
      i = lf + 1;
      this.atLineStart = true;
    }
    w.octets += i - start;
    if (w.collect) this.collectLines(w, buf.toString('latin1', start, i));
    return i;
  }

  private collectLines(w: Waiter, text: string): void {
    const parts = (w.partial + text).split('\r\n');
    w.partial = parts.pop() ?? '';
    for (const line of parts) w.lines.push(line.startsWith('.') ? line.slice(1) : line);
  }

  private settle(w: Waiter): void {
    this.waiter = undefined;
    clearTimeout(w.timer);
    const now = performance.now();
    w.resolve({
      line: w.status ?? '',
      ms: now - w.start,
      octets: w.octets,
      size: w.octets - w.stuffed,
      lines: w.lines,
      firstByteMs: (w.firstByte ?? now) - w.start,
    });
  }
}

function stepOf(text: string): string {
  // Never echo a password into a report.
  return text.startsWith('PASS ') ? 'PASS' : text.split(' ', 2).join(' ');
}
