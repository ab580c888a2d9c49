import { isUtf8 } from 'node:buffer';
import { EMPTY_ENVELOPE } from '../mail/envelope.js';
import { plainTextPart } from '../mail/mime-tree.js';
import type { BodyPart, Envelope, EnvelopeAddress } from '../mail/types.js';

/**
 * IMAP wire serialization (RFC 3501 §4 data formats, §7.4.2 ENVELOPE and BODYSTRUCTURE, RFC 3516
 * literal8, RFC 6855 UTF-8 quoted strings).
 *
 * Output is a list of chunks, `Wire`: a string chunk is protocol text and goes out as its UTF-8
 * octets (ASCII, or UTF-8 inside a quoted string of a UTF8=ACCEPT session); a Buffer chunk goes
 * out as it is (literal data). Functions return fresh arrays, so they compose by spreading;
 * `toBuffer` gives the octets, `wireLength` their count.
 *
 * Choices where the RFCs leave room:
 * - A string goes out quoted when it is at most MAX_QUOTED_OCTETS long and has no CR, LF or NUL
 *   and no 8-bit octet (8-bit allowed, as valid UTF-8, when the session enabled UTF8=ACCEPT, RFC
 *   6855 §3); anything else is a literal `{n}\r\n` + octets, n counted in octets.
 * - NUL can be carried by neither a quoted string nor a literal (RFC 3501 CHAR8 excludes it). A
 *   string (JS) value has NUL replaced by U+FFFD, a Buffer value by 0x80 (what Dovecot's
 *   istream-nonuls does to message bodies).
 * - BODY/BODYSTRUCTURE write media type, subtype, transfer encoding, disposition type and
 *   parameter names in upper case, as the RFC 3501 §7.4.2 example, UW-IMAP and Cyrus do; the
 *   store has them lower-cased, so the sender's case cannot be echoed (Dovecot echoes it: it
 *   writes what the header says, e.g. "text" "plain"). These tokens are case-insensitive (RFC
 *   2045 §5.1), so either form is correct. Parameter values are written as stored.
 * - A text/* part without a charset parameter gets ("CHARSET" "us-ascii"), the RFC 2045 §5.2
 *   default, as Dovecot adds it.
 * - A parameter value that is not ASCII is re-encoded per RFC 2231 (`NAME*` = `utf-8''%D0%9F...`)
 *   unless the session enabled UTF8=ACCEPT, where it goes out as UTF-8. Dovecot never decodes
 *   RFC 2231 parameters and so sends the same `name*` form; an old client reads it as it reads the
 *   header, and no client meets raw 8-bit octets it did not ask for. RFC 2047 words are left as
 *   they are (the parser keeps them).
 * - body-fld-lang is always a list, as Dovecot writes it.
 */

export type WireChunk = string | Buffer;
export type Wire = WireChunk[];

/** Longer strings go out as literals: keeps response lines short for clients with line limits. */
export const MAX_QUOTED_OCTETS = 1024;

export interface StringOptions {
  /** The session enabled UTF8=ACCEPT (RFC 6855): UTF-8 may go in quoted strings. */
  utf8?: boolean;
}

const NIL: Wire = ['NIL'];

/** The octets of a wire. */
export function toBuffer(wire: Wire): Buffer {
  return Buffer.concat(wire.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
}

/** Octet length of a wire. */
export function wireLength(wire: Wire): number {
  let n = 0;
  for (const c of wire) n += typeof c === 'string' ? Buffer.byteLength(c, 'utf8') : c.length;
  return n;
}

/**
 * A quoted string: `"` + s with `\` and `"` escaped + `"`. Throws RangeError for CR, LF or NUL,
 * which no quoted string may hold. Non-ASCII characters go out as UTF-8, which only a
 * UTF8=ACCEPT session may receive: callers that do not know use imapString.
 */
export function quoted(s: string): Wire {
  if (/[\r\n\0]/.test(s)) throw new RangeError('CR, LF and NUL cannot be quoted');
  return [`"${s.replace(/[\\"]/g, '\\$&')}"`];
}

/** A synchronizing literal as a server sends it: `{n}\r\n` + the octets. */
export function literal(data: Buffer): Wire {
  return [`{${data.length}}\r\n`, data];
}

/** RFC 3516 literal8 `~{n}\r\n` + octets: for BINARY data that holds NUL. */
export function literal8(data: Buffer): Wire {
  return [`~{${data.length}}\r\n`, data];
}

/** A number (RFC 3501 number / number64). */
export function num(n: number | bigint): Wire {
  return [String(n)];
}

/** A parenthesized list of items, separated by single spaces. */
export function list(items: readonly Wire[]): Wire {
  const out: Wire = ['('];
  items.forEach((item, i) => {
    if (i > 0) out.push(' ');
    out.push(...item);
  });
  out.push(')');
  return out;
}

/**
 * A string (or NIL for null), quoted when it can be, else a literal (see the module comment).
 * A Buffer is taken as octets; a string as text, written in UTF-8.
 */
export function imapString(value: string | Buffer | null, options: StringOptions = {}): Wire {
  if (value === null) return NIL;
  let bytes: Buffer;
  if (typeof value === 'string') {
    const text = value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
    bytes = Buffer.from(text, 'utf8');
  } else {
    bytes = value.includes(0) ? Buffer.from(value.map((b) => (b === 0 ? 0x80 : b))) : value;
  }
  if (canQuote(bytes, options.utf8 === true)) return quoted(bytes.toString('utf8'));
  return literal(bytes);
}

function canQuote(bytes: Buffer, utf8: boolean): boolean {
  if (bytes.length > MAX_QUOTED_OCTETS) return false;
  let high = false;
  for (const b of bytes) {
    if (b === 0x0d || b === 0x0a || b === 0) return false;
    if (b >= 0x80) high = true;
  }
  return !high || (utf8 && isUtf8(bytes));
}

/** RFC 3501 ASTRING-CHAR: ATOM-CHAR or "]"; no atom-specials, CTL, SP or 8-bit. */
const ASTRING_ATOM = /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c\x7e]+$/;

/**
 * An astring: an atom when the value is one (not empty, only ASTRING-CHARs), else a string.
 * "NIL" (any case) is quoted, so that no reader takes it for nil, as Dovecot does.
 */
export function astring(value: string | Buffer, options: StringOptions = {}): Wire {
  const text = typeof value === 'string' ? value : value.toString('latin1');
  if (ASTRING_ATOM.test(text) && text.toUpperCase() !== 'NIL') return [text];
  return imapString(value, options);
}

/** nstring: NIL for null, else a string. */
export function nstring(value: string | Buffer | null, options: StringOptions = {}): Wire {
  return imapString(value, options);
}

function addressList(addresses: EnvelopeAddress[] | null, options: StringOptions): Wire {
  if (addresses === null || addresses.length === 0) return NIL;
  // RFC 3501 §9: env-from = "(" 1*address ")", the addresses are not separated by spaces
  const out: Wire = ['('];
  for (const a of addresses) {
    out.push(
      ...list([
        nstring(a.name, options),
        nstring(a.adl, options),
        nstring(a.mailbox, options),
        nstring(a.host, options),
      ]),
    );
  }
  out.push(')');
  return out;
}

/**
 * ENVELOPE (RFC 3501 §7.4.2): date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
 * message-id. The envelope is written as stored (sender and reply-to were defaulted at ingest).
 */
export function encodeEnvelope(env: Envelope, utf8: boolean): Wire {
  const o: StringOptions = { utf8 };
  return list([
    nstring(env.date, o),
    nstring(env.subject, o),
    addressList(env.from, o),
    addressList(env.sender, o),
    addressList(env.replyTo, o),
    addressList(env.to, o),
    addressList(env.cc, o),
    addressList(env.bcc, o),
    nstring(env.inReplyTo, o),
    nstring(env.messageId, o),
  ]);
}

/** RFC 2231 attribute-char: token characters but `*`, `'` and `%`. */
const ATTRIBUTE_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/** `utf-8''` + the value's UTF-8 octets, percent-encoded where not attribute-chars (RFC 2231 §4). */
export function rfc2231Encode(value: string): string {
  let out = "utf-8''";
  for (const b of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && ATTRIBUTE_CHAR.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** body-fld-param: ("NAME" "value" ...) or NIL. */
function paramList(params: readonly [string, string][], options: StringOptions): Wire {
  if (params.length === 0) return NIL;
  const items: Wire[] = [];
  for (const [name, value] of params) {
    if (options.utf8 !== true && /[^\x00-\x7f]/.test(value)) {
      items.push(imapString(`${name.toUpperCase()}*`), imapString(rfc2231Encode(value)));
    } else {
      items.push(imapString(name.toUpperCase(), options), imapString(value, options));
    }
  }
  return list(items);
}

function contentParams(part: BodyPart): [string, string][] {
  if (part.type === 'text' && !part.params.some(([name]) => name === 'charset')) {
    return [...part.params, ['charset', 'us-ascii']];
  }
  return part.params;
}

function dispositionField(part: BodyPart, options: StringOptions): Wire {
  if (part.disposition === null) return NIL;
  return list([
    imapString(part.disposition.type.toUpperCase(), options),
    paramList(part.disposition.params, options),
  ]);
}

function languageField(part: BodyPart, options: StringOptions): Wire {
  if (part.language === null || part.language.length === 0) return NIL;
  return list(part.language.map((tag) => imapString(tag, options)));
}

/**
 * BODY (extensible = false) or BODYSTRUCTURE (extensible = true) of a part, RFC 3501 §7.4.2 and
 * the §9 body grammar, as one parenthesized item. Multipart: the children (not separated by
 * spaces), the subtype, then params, disposition, language, location. Leaf: type, subtype,
 * params, id, description, encoding, size; message/rfc822 adds envelope, body and lines; text/*
 * adds lines; then md5, disposition, language, location.
 */
/** The extension data both kinds of body end with: disposition, language, location (RFC 3501 §7.4.2). */
function extensionTail(part: BodyPart, o: StringOptions): Wire {
  return [
    ' ',
    ...dispositionField(part, o),
    ' ',
    ...languageField(part, o),
    ' ',
    ...nstring(part.location, o),
  ];
}

export function encodeBodyStructure(part: BodyPart, extensible: boolean, utf8: boolean): Wire {
  const o: StringOptions = { utf8 };
  const out: Wire = ['('];
  if (part.parts !== undefined) {
    for (const child of part.parts) out.push(...encodeBodyStructure(child, extensible, utf8));
    out.push(' ', ...imapString(part.subtype.toUpperCase(), o));
    if (extensible) out.push(' ', ...paramList(part.params, o), ...extensionTail(part, o));
    out.push(')');
    return out;
  }

  out.push(
    ...imapString(part.type.toUpperCase(), o),
    ' ',
    ...imapString(part.subtype.toUpperCase(), o),
    ' ',
    ...paramList(contentParams(part), o),
    ' ',
    ...nstring(part.id, o),
    ' ',
    ...nstring(part.description, o),
    ' ',
    ...imapString(part.encoding.toUpperCase(), o),
    ' ',
    ...num(part.size),
  );
  if (part.type === 'message' && part.subtype === 'rfc822') {
    // media-message must carry envelope, body and lines; the parser always sets `message`, an
    // empty text/plain stands in should a stored structure lack it
    const inner = part.message ?? plainTextPart(Buffer.alloc(0), part.end, part.end, part.end);
    out.push(
      ' ',
      ...encodeEnvelope(part.envelope ?? EMPTY_ENVELOPE, utf8),
      ' ',
      ...encodeBodyStructure(inner, extensible, utf8),
      ' ',
      ...num(part.lines ?? 0),
    );
  } else if (part.type === 'text') {
    out.push(' ', ...num(part.lines ?? 0));
  }
  if (extensible) out.push(' ', ...nstring(part.md5, o), ...extensionTail(part, o));
  out.push(')');
  return out;
}
