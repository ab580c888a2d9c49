import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface TaggedReply {
  /** Untagged and continuation lines before the tagged one, literals inlined as text (latin1). */
  untagged: string[];
  /** The tagged line, e.g. "a1 OK [READ-WRITE] SELECT completed". */
  tagged: string;
}

/**
 * A scripted IMAP client over a real socket, as WildDuck's protocol tests do: send a
 * command, collect every response up to its tagged reply. Literals in responses
 * ({n}\r\n + n octets) are read by count, so binary bodies do not confuse it.
 */
export class ImapTranscript {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private closed = false;
  private counter = 0;

  private constructor(private socket: Socket) {
    this.listen(socket);
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

  /** STARTTLS, then the handshake on the same connection (any certificate accepted); returns the tagged reply. */
  async startTls(): Promise<string> {
    const reply = await this.command('STARTTLS');
    if (!/ OK /.test(reply.tagged)) return reply.tagged;
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
    return reply.tagged;
  }

  static async open(port: number): Promise<{ client: ImapTranscript; greeting: string }> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const client = new ImapTranscript(socket);
    return { client, greeting: await client.line() };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The next response line, with any literals it announces inlined. */
  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let out = '';
    for (;;) {
      const nl = this.buffer.indexOf('\r\n');
      if (nl !== -1) {
        const text = this.buffer.subarray(0, nl).toString('latin1');
        const literal = /\{(\d+)\}$/.exec(text);
        if (!literal) {
          this.buffer = this.buffer.subarray(nl + 2);
          return out + text;
        }
        const size = Number(literal[1]);
        if (this.buffer.length >= nl + 2 + size) {
          out += text + '\r\n' + this.buffer.subarray(nl + 2, nl + 2 + size).toString('latin1');
          this.buffer = this.buffer.subarray(nl + 2 + size);
          continue;
        }
      }
      if (this.closed)
        throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no line within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
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

  /** Sends `<tag> <command>` and collects the responses up to the tagged reply. */
  async command(command: string | Buffer, tag = `t${++this.counter}`): Promise<TaggedReply> {
    this.write(
      Buffer.concat([
        Buffer.from(`${tag} `),
        Buffer.isBuffer(command) ? command : Buffer.from(command),
        Buffer.from('\r\n'),
      ]),
    );
    return this.until(tag);
  }

  /** Collects responses until the line tagged `tag`. */
  async until(tag: string, timeoutMs = 5000): Promise<TaggedReply> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.line(timeoutMs);
      if (line.startsWith(`${tag} `)) return { untagged, tagged: line };
      untagged.push(line);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Opens a session and logs in; for tests of the authenticated and selected states. */
export async function loggedIn(port: number, user: string, password: string): Promise<ImapTranscript> {
  const { client } = await ImapTranscript.open(port);
  const reply = await client.command(`LOGIN ${user} "${password}"`);
  if (!reply.tagged.includes(' OK ')) throw new Error(`login failed: ${reply.tagged}`);
  return client;
}
