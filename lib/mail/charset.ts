import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { decode as libmimeDecode, normalizeCharset } from 'libmime/lib/charset.js';

/**
 * Charset handling. The parser reads the raw message as latin1 ("binary") strings so that
 * one character is one octet and offsets stay byte offsets; these helpers turn such octets
 * into real text.
 */

/** The fallback for 8-bit octets when nothing says which charset they are in. */
export const DEFAULT_FALLBACK_CHARSET = 'latin1';

const UTF8_OR_ASCII = /^(?:utf-?8|(?:us-)?ascii|7bit|8bit)$/i;
const HIGH_OR_NUL = /[\u0000\u0080-\u00ff]/;

/**
 * Decodes octets in `charset` to a string. Charset names are normalised the way libmime does
 * (aliases like `cp866`, `ibm866`, `win-1251`); decoding goes through iconv-lite (and
 * encoding-japanese for ISO-2022-JP). A charset nobody knows (or one refused as unsafe, such
 * as UTF-7) decodes as UTF-8 with U+FFFD replacements. Never throws.
 */
export function decodeBytes(bytes: Buffer, charset: string | null | undefined): string {
  const name = (charset ?? '').trim();
  if (name === '' || UTF8_OR_ASCII.test(name)) return bytes.toString('utf8');
  if (/^(?:latin-?1|iso[-_]?8859-1|iso_8859-1:1987|l1|binary)$/i.test(name)) return bytes.toString('latin1');
  try {
    return libmimeDecode(bytes, name);
  } catch {
    return bytes.toString('utf8');
  }
}

/** True when `charset` names a charset that libmime / iconv-lite can decode (so it is worth guessing with). */
export function isKnownCharset(charset: string): boolean {
  const name = charset.trim();
  if (name === '') return false;
  if (UTF8_OR_ASCII.test(name)) return true;
  const normalized = normalizeCharset(name);
  if (/^utf-?7|^base64$|^hex$/i.test(normalized)) return false;
  if (/^jis|^iso-?2022-?jp|^eucjp/i.test(normalized)) return true;
  try {
    return iconv.encodingExists(normalized);
  } catch {
    return false;
  }
}

/**
 * Turns a header value read as latin1 (one char per octet) into text. ASCII stays as it is.
 * 8-bit octets are UTF-8 when they form valid UTF-8 (RFC 6532, SMTPUTF8); otherwise they are
 * in some legacy charset the sender did not declare, and `fallbackCharset` (the charset the
 * message declares for its text, see guessHeaderCharset) is the best guess. NUL becomes
 * U+FFFD: no header consumer (IMAP strings, JSON, SQLite text) wants it.
 */
export function decodeRawHeader(latin1: string, fallbackCharset: string): string {
  if (!HIGH_OR_NUL.test(latin1)) return latin1;
  let text: string;
  if (!/[\u0080-\u00ff]/.test(latin1)) {
    text = latin1;
  } else {
    const bytes = Buffer.from(latin1, 'latin1');
    text = isUtf8(bytes) ? bytes.toString('utf8') : decodeBytes(bytes, fallbackCharset);
  }
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** True when the latin1-read string has 8-bit octets that are not valid UTF-8. */
export function hasNonUtf8Octets(latin1: string): boolean {
  if (!/[\u0080-\u00ff]/.test(latin1)) return false;
  return !isUtf8(Buffer.from(latin1, 'latin1'));
}
