import { connect, type Socket } from 'node:net';

/** Opens a TCP connection, failing after timeoutMs; shared by the benchmarks' line clients. */
export function connectWithTimeout(port: number, host: string, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = connect({ port, host });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A reply the bench did not expect: which step, and what the server said. */
export class UnexpectedReplyError extends Error {
  readonly code = 'UNEXPECTED_REPLY';
  constructor(
    readonly step: string,
    readonly reply: string,
  ) {
    super(`${step}: ${reply.slice(0, 200)}`);
    this.name = 'UnexpectedReplyError';
  }
}

/** What a line client waits on: one reply at a time, with a timer. */
export interface PendingReply {
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The socket side the benches' line clients (SMTP, IMAP, POP3) share: no Nagle, input
 * handed to onData, and a connection error or close failing the reply waited on (and every
 * later one).
 */
export abstract class LineClient<W extends PendingReply> {
  protected pending: Buffer = Buffer.alloc(0);
  protected waiter: W | undefined;
  protected failure: Error | undefined;

  protected constructor(
    protected readonly socket: Socket,
    protected readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by server')));
  }

  protected abstract onData(chunk: Buffer): void;

  close(): void {
    this.socket.destroy();
  }

  protected fail(err: Error): void {
    this.failure ??= err;
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.reject(err);
  }
}
