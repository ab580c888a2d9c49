import { Transform, type TransformCallback } from 'node:stream';
import { CrlfNormalizer } from '../mail/line-endings.js';
import { HEAD_CAPTURE_BYTES, MAX_TEXT_LINE } from './limits.js';

/**
 * Passes DATA through to the BlobStore with bare LF line ends made CRLF (RFC 5322 §2.3; see
 * lib/mail/line-endings.ts), and notes what the
 * reply at the end of DATA depends on: the longest text line (RFC 5321 §4.5.3.1.6 counts
 * the CRLF) and the first bytes, where the headers are.
 */
export class DataCheck extends Transform {
  /** Length of the longest line seen, CRLF included. */
  longestLine = 0;
  bytes = 0;
  private currentLine = 0;
  private readonly crlf = new CrlfNormalizer();
  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.finishLine(this.currentLine + nl - start + 1);
      start = nl + 1;
    }
    this.currentLine += chunk.length - start;
    if (this.headBytes < HEAD_CAPTURE_BYTES) {
      const part = chunk.subarray(0, HEAD_CAPTURE_BYTES - this.headBytes);
      this.headChunks.push(part);
      this.headBytes += part.length;
    }
    callback(null, this.crlf.push(chunk));
  }

  override _flush(callback: TransformCallback): void {
    // smtp-server strips the CRLF that precedes the final dot: count it back in.
    if (this.currentLine > 0) this.finishLine(this.currentLine + 2);
    callback();
  }

  private finishLine(length: number) {
    if (length > this.longestLine) this.longestLine = length;
    this.currentLine = 0;
  }

  get lineTooLong(): boolean {
    return this.longestLine > MAX_TEXT_LINE;
  }

  /** The first bytes of the message (at most HEAD_CAPTURE_BYTES). */
  get head(): Buffer {
    return Buffer.concat(this.headChunks);
  }
}
