import { connect, type Socket } from 'node:net';

/**
 * A scripted SMTP client over a real socket: send a line, read one complete reply
 * (multi-line replies joined), as smtp-server's and WildDuck's protocol tests do.
 */
export class SmtpSession {
  private buffer = '';
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<SmtpSession> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new SmtpSession(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The next complete reply: all its lines, the last one "NNN text". */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return match[0].trimEnd();
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline)
        throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command line and returns its reply. */
  async command(line: string): Promise<string> {
    this.write(line + '\r\n');
    return this.reply();
  }

  /** Sends the message body (dot-stuffed here) and the terminating dot; returns the reply. */
  async data(body: string | Buffer): Promise<string> {
    const text = Buffer.isBuffer(body) ? body.toString('latin1') : body;
    const stuffed = text.replace(/(^|\r\n)\./g, '$1..');
    this.write(Buffer.from(stuffed + (stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1'));
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}
