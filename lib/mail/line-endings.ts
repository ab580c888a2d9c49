/*
 * RFC 5322 §2.3: CR and LF occur only together, as CRLF. Mail that arrives with bare LF line
 * ends (a sloppy client, a Unix mbox) is stored with CRLF instead, as Postfix and Dovecot do,
 * so that the stored size is the size IMAP (RFC822.SIZE) and POP3 (LIST, RFC 1939 §5) report
 * and the bytes they send. A bare CR is left alone: it is data, not a line end.
 */

const CR = 13;
const LF = 10;

/** Turns bare LF into CRLF in a stream of chunks; remembers a CR that ended the previous chunk. */
export class CrlfNormalizer {
  private lastWasCr = false;

  push(chunk: Buffer): Buffer {
    let out: Buffer[] | undefined;
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      const before = lf === 0 ? this.lastWasCr : chunk[lf - 1] === CR;
      if (before) continue;
      out ??= [];
      out.push(chunk.subarray(start, lf), CRLF);
      start = lf + 1;
    }
    if (chunk.length > 0) this.lastWasCr = chunk[chunk.length - 1] === CR;
    if (!out) return chunk;
    out.push(chunk.subarray(start));
    return Buffer.concat(out);
  }
}

const CRLF = Buffer.from('\r\n');

/** The message with every bare LF made CRLF; the same buffer when there was none. */
export function toCrlf(raw: Buffer): Buffer {
  return new CrlfNormalizer().push(raw);
}
