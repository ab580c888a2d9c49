import { Pop3ParseError } from './errors.js';
import { MAX_LINE_BYTES } from './limits.js';

export interface Pop3Command {
  /** Upper case keyword, e.g. "RETR". */
  name: string;
  /** Arguments split on spaces. */
  args: string[];
  /** Everything after the keyword and one space, unsplit: PASS takes its password so (RFC 1939 §7). */
  rest: string;
}

/** What the line reader hands the session. */
export type LineEvent = { type: 'line'; line: Buffer } | { type: 'too-long' };

/**
 * Splits input into lines at LF (CRLF, or a bare LF from a sloppy client), bounded: a line
 * over MAX_LINE_BYTES is reported once and skipped up to its end, so a client cannot make
 * the server hold more than that per connection.
 */
export class LineReader {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private discarding = false;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The next complete line (without its line end), a too-long event, or null when more input is needed. */
  next(): LineEvent | null {
    for (;;) {
      if (this.bytes === 0) return null;
      const buffer = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [buffer];
      const lf = buffer.indexOf(10);
      if (lf === -1) {
        if (this.discarding) this.reset(Buffer.alloc(0));
        else if (this.bytes > this.maxLineBytes) {
          this.discarding = true;
          this.reset(Buffer.alloc(0));
          return { type: 'too-long' };
        }
        return null;
      }
      const rest = buffer.subarray(lf + 1);
      const end = lf > 0 && buffer[lf - 1] === 13 ? lf - 1 : lf;
      const line = buffer.subarray(0, end);
      this.reset(rest);
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      if (lf + 1 > this.maxLineBytes) return { type: 'too-long' };
      return { type: 'line', line };
    }
  }

  /** Forgets buffered input: after STLS, nothing sent in clear may count (RFC 2595 §4). */
  clear(): void {
    this.reset(Buffer.alloc(0));
    this.discarding = false;
  }

  private reset(rest: Buffer) {
    this.chunks = rest.length ? [rest] : [];
    this.bytes = rest.length;
  }
}

/**
 * Parses one command line (RFC 1939 §3): a keyword of ASCII letters, then arguments
 * separated by spaces. Only ever throws Pop3ParseError.
 */
export function parseCommand(line: Buffer): Pop3Command {
  for (const byte of line) {
    if (byte === 127 || (byte < 32 && byte !== 9)) throw new Pop3ParseError('Command contains control bytes');
  }
  // UTF-8, for passwords that are not ASCII; keywords are ASCII letters either way.
  const text = line.toString('utf8');
  const space = text.indexOf(' ');
  const keyword = space === -1 ? text : text.slice(0, space);
  if (!/^[A-Za-z]{1,16}$/.test(keyword)) throw new Pop3ParseError('Not a command');
  const rest = space === -1 ? '' : text.slice(space + 1);
  const args = rest.split(' ').filter((a) => a.length > 0);
  return { name: keyword.toUpperCase(), args, rest };
}
