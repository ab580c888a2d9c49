import { CrlfNormalizer } from '../mail/line-endings.js';

const DOT = Buffer.from('.');
const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');
const LF_DOT = Buffer.from('\n.');

/**
 * Turns a stored message into the body of a POP3 multi-line response (RFC 1939 §3), one
 * chunk at a time, so RETR of a 40 MB message holds one chunk in memory, not the message:
 * lines end in CRLF, a line that starts with "." gets another in front (byte-stuffing), and
 * the response ends with CRLF "." CRLF. With a line count it is TOP (§7): the header, the
 * empty line, then that many lines of the body, and the rest of the message is never read.
 */
export class Pop3Encoder {
  /** TOP has sent all it wanted: the caller stops reading the blob. */
  done = false;
  private readonly crlf = new CrlfNormalizer();
  private atLineStart = true;
  /** Octets of the current line so far; 2 at its end means the line was empty. */
  private lineLength = 0;
  private inHeader = true;
  private bodyLinesLeft: number;

  constructor(bodyLines = Infinity) {
    this.bodyLinesLeft = bodyLines;
  }

  /** The output for one chunk of the message, as slices of it (no copy of the chunk). */
  push(raw: Buffer): Buffer[] {
    if (this.done) return [];
    const chunk = this.crlf.push(raw);
    if (chunk.length === 0) return [];
    return this.bodyLinesLeft === Infinity ? this.stuff(chunk) : this.pushLines(chunk);
  }

  /**
   * RETR: only lines that start with "." need anything, so search for LF "." and cut the
   * chunk there, not at every line (a 50 KB message has hundreds of lines, few dots).
   */
  private stuff(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    if (this.atLineStart && chunk[0] === 0x2e) out.push(DOT);
    for (let at = chunk.indexOf(LF_DOT); at !== -1; at = chunk.indexOf(LF_DOT, at + 1)) {
      out.push(chunk.subarray(start, at + 1), DOT);
      start = at + 1;
    }
    out.push(start === 0 ? chunk : chunk.subarray(start));
    this.atLineStart = chunk[chunk.length - 1] === 10;
    return out;
  }

  /** TOP: line by line, counting the header's end and the body lines sent. */
  private pushLines(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      if (this.atLineStart && chunk[start] === 0x2e) out.push(DOT);
      this.atLineStart = false;
      const lf = chunk.indexOf(10, start);
      if (lf === -1) {
        out.push(chunk.subarray(start));
        this.lineLength += chunk.length - start;
        break;
      }
      out.push(chunk.subarray(start, lf + 1));
      this.lineLength += lf + 1 - start;
      start = lf + 1;
      this.atLineStart = true;
      if (this.endLine()) {
        this.done = true;
        break;
      }
    }
    return out;
  }

  /** The end of the response: CRLF if the message did not end with one, then ".". */
  end(): Buffer[] {
    return this.atLineStart ? [TERMINATOR] : [CRLF, TERMINATOR];
  }

  /** Notes the end of a line; true when TOP has sent its last one. */
  private endLine(): boolean {
    const empty = this.lineLength === 2;
    this.lineLength = 0;
    if (this.inHeader) {
      if (!empty) return false;
      // The empty line that ends the header is sent; TOP 0 stops after it.
      this.inHeader = false;
      return this.bodyLinesLeft === 0;
    }
    this.bodyLinesLeft--;
    return this.bodyLinesLeft <= 0;
  }
}
