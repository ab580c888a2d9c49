import type { Socket } from 'node:net';

/** Output gathered before it is written without waiting for the end of the tick. */
export const OUTPUT_CHUNK = 64 * 1024;

/**
 * A protocol session's output, gathered and written in one piece at the end of the tick, or
 * as soon as OUTPUT_CHUNK bytes are waiting: one write (one syscall) per batch of replies,
 * not per line. An IMAP FETCH of 100,000 messages or a POP3 LIST of a big maildrop is a few
 * hundred writes instead of hundreds of thousands.
 */
export class OutputBuffer {
  private chunks: (string | Buffer)[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private socket: Socket) {}

  /** After STARTTLS / STLS: later output goes through the TLS socket. */
  setSocket(socket: Socket): void {
    this.socket = socket;
  }

  push(chunk: string | Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= OUTPUT_CHUNK) this.writeNow();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writeNow());
    }
  }

  /** Writes what is waiting at once (before a TLS handshake, or before closing). */
  writeNow(): void {
    this.scheduled = false;
    if (this.chunks.length === 0) return;
    const data = Buffer.concat(this.chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
    this.chunks = [];
    this.bytes = 0;
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Resolves when the socket has taken what was written, so a large reply does not pile up in memory. */
  async drained(): Promise<void> {
    if (this.bytes >= OUTPUT_CHUNK) this.writeNow();
    const socket = this.socket;
    if (socket.destroyed || !socket.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.once('drain', done);
      socket.once('close', done);
    });
  }
}
