/**
 * Content-Transfer-Encoding decoding (RFC 2045 §6.7, §6.8), lenient as decoders must be:
 * base64 ignores characters outside its alphabet, quoted-printable keeps a malformed `=`
 * as it is.
 */

const EQUALS = 0x3d;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes quoted-printable octets (soft line breaks removed, `=XX` turned into the octet). */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as number;
    if (c !== EQUALS) {
      out[n++] = c;
      continue;
    }
    const hi = hexValue(input[i + 1]);
    const lo = hexValue(input[i + 2]);
    if (hi !== -1 && lo !== -1) {
      out[n++] = hi * 16 + lo;
      i += 2;
      continue;
    }
    // soft line break: "=" then optional transport padding, then CRLF / LF / end of data
    let j = i + 1;
    while (j < input.length && (input[j] === SP || input[j] === HTAB)) j += 1;
    if (j < input.length && input[j] === CR) j += 1;
    if (j >= input.length) {
      i = j;
      continue;
    }
    if (input[j] === LF) {
      i = j;
      continue;
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Decodes a part body according to its Content-Transfer-Encoding; identity for 7bit/8bit/binary/unknown. */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1'), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** 1 for the octets of the base64 alphabet (RFC 2045 §6.8 Table 1), 0 for the rest. */
const BASE64_ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
  BASE64_ALPHABET[c.charCodeAt(0)] = 1;

/** The size of a body once its transfer encoding is removed, without building the decoded copy for base64. */
export function decodedSize(body: Buffer, encoding: string): number {
  if (encoding === 'base64') {
    const padding = body.indexOf(EQUALS); // padding ends the data
    const stop = padding === -1 ? body.length : padding;
    let count = 0;
    for (let i = 0; i < stop; i++) count += BASE64_ALPHABET[body[i] as number] as number;
    return Math.floor((count * 3) / 4);
  }
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body).length;
  return body.length;
}
