import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Pop3Reply {
  /** The status line, e.g. "+OK 2 320". */
  status: string;
  /** For multi-line replies: the lines between status and ".", byte-stuffing removed. */
  lines?: string[];
  /** For multi-line replies: the octets between the status line and the ".", as sent (still stuffed). */
  raw?: Buffer;
}

/**
 * A scripted POP3 client over a real socket: send a line, read the status line and, when
 * the command has one, the multi-line body up to CRLF.CRLF. Reads bytes, so octet counts
 * can be checked exactly.
 */
export class Pop3Transcript {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private socket: Socket) {
    this.listen(socket);
  }

  static async open(
    port: number,
    options: { tls?: boolean } = {},
  ): Promise<{ client: Pop3Transcript; greeting: string }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = options.tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(s))
        : connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const client = new Pop3Transcript(socket);
    return { client, greeting: await client.readLine() };
  }

  private listen(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
  }

  /** Sends raw bytes (no CRLF added). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command and reads its reply; multi: read the body too when the status is +OK. */
  async command(line: string, multi = false): Promise<Pop3Reply> {
    this.write(line + '\r\n');
    return this.reply(multi);
  }

  async reply(multi = false): Promise<Pop3Reply> {
    const status = await this.readLine();
    if (!multi || !status.startsWith('+OK')) return { status };
    const raw = await this.readUntil('\r\n.\r\n', true);
    const body = raw.length === 0 ? '' : raw.toString('latin1');
    const lines = body === '' ? [] : body.split('\r\n').map((l) => (l.startsWith('..') ? l.slice(1) : l));
    return { status, lines, raw: raw.length ? Buffer.concat([raw, Buffer.from('\r\n')]) : raw };
  }

  /** One line without its CRLF; "" when the connection closed. */
  async readLine(): Promise<string> {
    return (await this.readUntil('\r\n', false)).toString('latin1');
  }

  /** STLS, then the TLS handshake on the same connection (any certificate accepted). */
  async startTls(): Promise<string> {
    const { status } = await this.command('STLS');
    if (!status.startsWith('+OK')) return status;
    await this.startTlsHandshake();
    return status;
  }

  /** The client side of the TLS handshake on this connection, after the server's +OK to STLS. */
  async startTlsHandshake(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /**
   * Reads up to the marker. For a multi-line body the marker is CRLF.CRLF, but a body that
   * is empty ends at once with ".\r\n".
   */
  private async readUntil(marker: string, body: boolean): Promise<Buffer> {
    const needle = Buffer.from(marker);
    for (;;) {
      if (body && this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
        this.buffer = this.buffer.subarray(3);
        return Buffer.alloc(0);
      }
      const at = this.buffer.indexOf(needle);
      if (at !== -1) {
        const out = this.buffer.subarray(0, at);
        this.buffer = this.buffer.subarray(at + needle.length);
        return out;
      }
      if (this.closed) {
        const out = this.buffer;
        this.buffer = Buffer.alloc(0);
        return out;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
