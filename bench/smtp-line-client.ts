import type { Socket } from 'node:net';
import { LineClient, connectWithTimeout, type PendingReply } from './connect.js';
import { performance } from 'node:perf_hooks';

/** One complete SMTP reply: the code and the text of its last line. */
export interface Reply {
  code: number;
  text: string;
}

/** The server answered something other than what the step expects. */
export class UnexpectedReplyError extends Error {
  readonly code = 'UNEXPECTED_REPLY';
  constructor(
    readonly step: string,
    readonly reply: Reply,
  ) {
    super(`${step}: ${reply.code} ${reply.text}`);
    this.name = 'UnexpectedReplyError';
  }
}

/**
 * A minimal SMTP client for load: one command, one reply, no PIPELINING (RFC 2920), no
 * TLS, no parsing beyond the reply code. Kept this small on purpose so that the client
 * costs little next to the server it measures; nodemailer's transport builds and
 * encodes the message on every send, which would be measured too.
 */
export class SmtpLineClient extends LineClient<PendingReply & { resolve: (reply: Reply) => void }> {
  private constructor(socket: Socket, timeoutMs: number) {
    super(socket, timeoutMs);
  }

  /** Connects and reads the greeting, which must be 220 (RFC 5321 §4.2). */
  static async open(port: number, host: string, timeoutMs: number): Promise<SmtpLineClient> {
    const socket = await connectWithTimeout(port, host, timeoutMs);
    const client = new SmtpLineClient(socket, timeoutMs);
    client.expect('greeting', await client.reply(), 220);
    return client;
  }

  /** Sends one command line and waits for its reply, which must carry the expected code. */
  async command(line: string, expected: number): Promise<Reply> {
    const reply = this.reply();
    this.socket.write(line + '\r\n');
    return this.expect(line.split(' ')[0] ?? line, await reply, expected);
  }

  /**
   * Sends a dot-stuffed body that ends in CRLF, then the terminating dot, and returns the
   * time from handing the dot to the kernel to reading the 250 (RFC 5321 §4.1.1.4).
   */
  async data(stuffedBody: Buffer): Promise<number> {
    await new Promise<void>((resolve, reject) =>
      this.socket.write(stuffedBody, (err) => (err ? reject(err) : resolve())),
    );
    const reply = this.reply();
    const start = performance.now();
    this.socket.write('.\r\n');
    this.expect('end of data', await reply, 250);
    return performance.now() - start;
  }

  /** QUIT politely; the socket is closed either way. */
  async quit(): Promise<void> {
    try {
      await this.command('QUIT', 221);
    } finally {
      this.close();
    }
  }

  private expect(step: string, reply: Reply, code: number): Reply {
    if (reply.code !== code) throw new UnexpectedReplyError(step, reply);
    return reply;
  }

  private reply(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no reply within ${this.timeoutMs} ms`));
        this.socket.destroy();
      }, this.timeoutMs);
      this.waiter = { resolve, reject, timer };
      // A reply may already be buffered (it never is without pipelining, but be safe).
      this.onData(Buffer.alloc(0));
    });
  }

  protected onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    // A reply ends at the first line "NNN " or "NNN" (RFC 5321 §4.2.1: "NNN-" continues).
    let start = 0;
    for (;;) {
      const end = this.pending.indexOf('\r\n', start, 'latin1');
      if (end === -1) break;
      const line = this.pending.toString('latin1', start, end);
      start = end + 2;
      if (line.length >= 3 && line[3] !== '-') {
        this.pending = this.pending.subarray(start);
        start = 0;
        const waiter = this.waiter;
        if (!waiter) continue;
        this.waiter = undefined;
        clearTimeout(waiter.timer);
        waiter.resolve({ code: Number(line.slice(0, 3)), text: line.slice(4) });
        return;
      }
    }
  }
}
