import libmime from 'libmime';
import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';
import { decodeBytes, decodeRawHeader, hasNonUtf8Octets } from './charset.js';
import { firstField, type HeaderField } from './header.js';
import {
  MAX_ATTACHMENTS,
  MAX_BODY_TEXT_BYTES,
  MAX_HEADER_TEXT_BYTES,
  MAX_HTML_TO_TEXT_CHARS,
  MAX_TEXT_PART_BYTES,
} from './limits.js';
import { stripComments } from './mime-params.js';
import { walkParts, type ParsedTree } from './mime-tree.js';
import { decodedSize, decodeTransfer } from './transfer-encoding.js';
import type { AttachmentSummary, BodyPart, EnvelopeAddress, MessageSummary } from './types.js';

/**
 * The decoded side of a message: MessageSummary, headerText and bodyText.
 *
 * mailparser decodes the text (charsets, transfer encodings, RFC 2047, HTML to text). It is
 * handed a skeleton of the message: the same MIME structure with the bodies of non-text
 * parts left out and huge text parts cut, so that a 40 MB attachment is not decoded (and
 * hashed) just to be thrown away, and with raw 8-bit header octets that are not UTF-8
 * re-encoded as UTF-8 from the message's declared charset (mailparser would read them as
 * UTF-8 and show U+FFFD). Attachments (names, part numbers, types, sizes) come from our own
 * MIME tree, whose part numbers are exactly the IMAP ones. If mailparser fails (it refuses
 * more than 1000 parts, or a header over 1 MB), the text is decoded from our tree instead.
 */

export interface DecodedText {
  summary: MessageSummary;
  headerText: string;
  bodyText: string;
}

export async function decodeMessage(raw: Buffer, tree: ParsedTree): Promise<DecodedText> {
  const { structure, fields, fallbackCharset } = tree;
  const headerText = buildHeaderText(fields, fallbackCharset);
  const attachments = listAttachments(raw, structure.body);
  const date = parseDate(firstField(fields, 'date')?.value);

  let mail: ParsedMail | null;
  try {
    mail = await simpleParser(skeleton(raw, tree), {
      checksumAlgo: false,
      skipImageLinks: true,
      keepCidLinks: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: MAX_HTML_TO_TEXT_CHARS,
    });
  } catch {
    mail = null;
  }

  const envelope = structure.envelope;
  if (mail !== null) {
    let text = mail.text ?? '';
    if (text.trim() === '' && typeof mail.html === 'string') text = htmlToTextRough(mail.html);
    return {
      summary: {
        subject: withoutNul(mail.subject ?? decodeWords(envelope.subject ?? '')),
        from: withoutNul(formatAddressObjects(mail.from)),
        to: withoutNul(formatAddressObjects(mail.to)),
        cc: withoutNul(formatAddressObjects(mail.cc)),
        date,
        messageId: mail.messageId === undefined ? envelope.messageId : withoutNul(mail.messageId),
        attachments,
      },
      headerText,
      bodyText: withoutNul(truncateUtf8(text, MAX_BODY_TEXT_BYTES)),
    };
  }
  return {
    summary: {
      subject: decodeWords(envelope.subject ?? ''),
      from: formatEnvelopeAddresses(envelope.from),
      to: formatEnvelopeAddresses(envelope.to),
      cc: formatEnvelopeAddresses(envelope.cc),
      date,
      messageId: envelope.messageId,
      attachments,
    },
    headerText,
    bodyText: withoutNul(truncateUtf8(ownBodyText(raw, structure.body), MAX_BODY_TEXT_BYTES)),
  };
}

/** NUL is no text: U+FFFD instead, as in the structure (charset.ts decodeRawHeader). */
function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** RFC 2047 decoding that never throws (an unknown charset decodes as UTF-8, a broken word stays as it is). */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/** `Name: decoded value` per field, CRLF after each, bounded to MAX_HEADER_TEXT_BYTES. */
function buildHeaderText(fields: readonly HeaderField[], fallbackCharset: string): string {
  const lines: string[] = [];
  let bytes = 0;
  for (const f of fields) {
    const line = `${f.name}: ${decodeWords(decodeRawHeader(f.value, fallbackCharset)).replace(/[\r\n]+/g, ' ')}\r\n`;
    bytes += Buffer.byteLength(line);
    if (bytes > MAX_HEADER_TEXT_BYTES) break;
    lines.push(line);
  }
  return lines.join('');
}

/**
 * Whether a leaf part is an attachment rather than message text: anything with
 * `Content-Disposition: attachment` or a file name, any non-text type, and every enclosed
 * message (not descended into: its own attachments belong to it). Not: text/plain and
 * text/html body parts, message/delivery-status and the like, which are read as text.
 */
function isAttachment(part: BodyPart, filename: string | null): boolean {
  if (part.disposition?.type === 'attachment' || filename !== null) return true;
  if (part.type === 'message') return part.subtype === 'rfc822';
  if (part.type === 'text') return part.subtype !== 'plain' && part.subtype !== 'html';
  return part.parts === undefined;
}

/** The decoded file name of a part: Content-Disposition filename, else Content-Type name (RFC 2231 already applied, RFC 2047 here). */
export function partFilename(part: BodyPart): string | null {
  const value =
    part.disposition?.params.find(([name]) => name === 'filename')?.[1] ??
    part.params.find(([name]) => name === 'name')?.[1];
  if (value === undefined) return null;
  const decoded = decodeWords(value).trim();
  return decoded === '' ? null : decoded;
}

function listAttachments(raw: Buffer, body: BodyPart): AttachmentSummary[] {
  const out: AttachmentSummary[] = [];
  walkParts(body, (part, section) => {
    if (part.parts !== undefined) return;
    const filename = partFilename(part);
    if (isAttachment(part, filename) && out.length < MAX_ATTACHMENTS) {
      out.push({
        filename,
        contentType: `${part.type}/${part.subtype}`,
        size: decodedSize(raw.subarray(part.bodyStart, part.end), part.encoding),
        part: section,
      });
    }
    if (part.message !== undefined) return false;
  });
  return out;
}

/** The message as mailparser should see it; see the module comment. */
function skeleton(raw: Buffer, tree: ParsedTree): Buffer {
  const body = tree.structure.body;
  const drops: [number, number][] = [];
  const visit = (part: BodyPart): void => {
    if (part.parts !== undefined) part.parts.forEach(visit);
    else if (part.message !== undefined) visit(part.message);
    else if (part.type === 'text' || part.type === 'message') {
      if (part.size > MAX_TEXT_PART_BYTES) drops.push([part.bodyStart + MAX_TEXT_PART_BYTES, part.end]);
    } else if (part.size > 0) drops.push([part.bodyStart, part.end]);
  };
  visit(body);

  const chunks: Buffer[] = [normalizeHeader(raw.subarray(0, body.bodyStart), tree.fallbackCharset)];
  let cursor = body.bodyStart;
  for (const [start, end] of drops) {
    if (start > cursor) chunks.push(raw.subarray(cursor, start));
    cursor = Math.max(cursor, end);
  }
  if (cursor < raw.length) chunks.push(raw.subarray(cursor));
  return Buffer.concat(chunks);
}

/** Re-encodes header lines whose 8-bit octets are not UTF-8 as UTF-8, decoding them with `charset`. */
function normalizeHeader(header: Buffer, charset: string): Buffer {
  const latin1 = header.toString('latin1');
  if (!hasNonUtf8Octets(latin1)) return header;
  const lines = latin1.split('\n').map((line) => {
    if (!hasNonUtf8Octets(line)) return Buffer.from(line, 'latin1');
    return Buffer.from(decodeBytes(Buffer.from(line, 'latin1'), charset), 'utf8');
  });
  const out: Buffer[] = [];
  lines.forEach((line, i) => {
    if (i > 0) out.push(Buffer.from('\n'));
    out.push(line);
  });
  return Buffer.concat(out);
}

/** A display name as it would be written in a header: quoted when it holds specials like "," (RFC 5322 §3.2.3). */
function displayName(name: string): string {
  return /[",;:<>@()[\]\\]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name;
}

function formatEmail(a: EmailAddress): string {
  if (a.group !== undefined)
    return `${a.name}:${a.group.length > 0 ? ' ' : ''}${a.group.map(formatEmail).join(', ')};`;
  const address = a.address ?? '';
  if (a.name === '') return address;
  return address === '' ? displayName(a.name) : `${displayName(a.name)} <${address}>`;
}

/** Display text of an address header: `Name <a@b>, c@d`, groups as `Group: members;`. */
function formatAddressObjects(value: AddressObject | AddressObject[] | undefined): string {
  if (value === undefined) return '';
  const list = Array.isArray(value) ? value : [value];
  return list
    .flatMap((o) => o.value)
    .map(formatEmail)
    .filter((text) => text !== '')
    .join(', ');
}

function formatEnvelopeAddresses(list: EnvelopeAddress[] | null): string {
  if (list === null) return '';
  const out: string[] = [];
  let group: { name: string; members: string[] } | null = null;
  for (const a of list) {
    if (a.host === null) {
      if (a.mailbox !== null) group = { name: decodeWords(a.mailbox), members: [] };
      else if (group !== null) {
        out.push(`${group.name}:${group.members.length > 0 ? ' ' : ''}${group.members.join(', ')};`);
        group = null;
      }
      continue;
    }
    const address = a.host === '' ? (a.mailbox ?? '') : `${a.mailbox ?? ''}@${a.host}`;
    const name = a.name === null ? '' : decodeWords(a.name);
    const text = name === '' ? address : `${displayName(name)} <${address}>`;
    if (group !== null) group.members.push(text);
    else out.push(text);
  }
  return out.join(', ');
}

/**
 * Date header to ms since the epoch; null when missing or unparsable. Not mailparser's date,
 * which is "now" for an unparsable header. RFC 5322 §4.3: an unknown zone name counts as
 * -0000, and a zone name after a numeric zone is a comment in all but syntax.
 */
export function parseDate(value: string | undefined): number | null {
  if (value === undefined) return null;
  const text = stripComments(value.slice(0, 500)).replace(/\s+/g, ' ').trim();
  // RFC 5322 §3.3 requires a time; without one V8 would guess (and in local time)
  if (!/\d:\d\d/.test(text)) return null;
  // a date without a zone would be read as local time: take it as -0000, as for an unknown zone
  const hasZone = /[+-]\d{4}(?!\d)|\b(?:UT|UTC|GMT|[ECMP][SD]T)\b|\dZ$/i.test(text);
  const direct = Date.parse(hasZone ? text : `${text} -0000`);
  if (!Number.isNaN(direct)) return direct;
  const m = /^(.*\d{1,2}:\d{2}(?::\d{2})?) ?([+-]\d{4})? ?[A-Za-z]*$/.exec(text);
  if (m?.[1] === undefined) return null;
  const retry = Date.parse(`${m[1]} ${m[2] ?? '-0000'}`);
  return Number.isNaN(retry) ? null : retry;
}

/** Cuts a string to at most `maxBytes` UTF-8 octets, never inside a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  let cut = Buffer.from(text.slice(0, maxBytes), 'utf8').subarray(0, maxBytes);
  // drop a partial character at the end: continuation octets, then their lead octet
  let k = cut.length;
  while (k > 0 && ((cut[k - 1] as number) & 0xc0) === 0x80) k -= 1;
  if (k > 0 && (cut[k - 1] as number) >= 0xc0) {
    const lead = cut[k - 1] as number;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (cut.length - (k - 1) < need) cut = cut.subarray(0, k - 1);
  }
  return cut.toString('utf8');
}

/** Crude HTML to text for when html-to-text gave nothing (HTML over its size limit). */
function htmlToTextRough(html: string): string {
  return html
    .slice(0, MAX_BODY_TEXT_BYTES * 4)
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h[1-6])\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#(\d{1,7});/g, (_m, d: string) => safeCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]{1,6});/gi, (_m, h: string) => safeCodePoint(parseInt(h, 16)))
    .replace(/&amp;/gi, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}

function safeCodePoint(n: number): string {
  return n > 0 && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : '\uFFFD';
}

/** bodyText without mailparser: text/plain parts that are not attachments, else text/html ones, decoded by us. */
function ownBodyText(raw: Buffer, body: BodyPart): string {
  const plain: string[] = [];
  const html: string[] = [];
  let budget = MAX_BODY_TEXT_BYTES * 4;
  walkParts(body, (part) => {
    if (part.message !== undefined) return false;
    if (part.parts !== undefined || part.type !== 'text' || budget <= 0) return;
    if (part.subtype !== 'plain' && part.subtype !== 'html') return;
    if (isAttachment(part, partFilename(part))) return;
    const bytes = raw.subarray(part.bodyStart, Math.min(part.end, part.bodyStart + budget));
    budget -= bytes.length;
    const charset = part.params.find(([name]) => name === 'charset')?.[1];
    const text = decodeBytes(decodeTransfer(bytes, part.encoding), charset);
    (part.subtype === 'plain' ? plain : html).push(text);
  });
  if (plain.length > 0) return plain.join('\n');
  return html.map(htmlToTextRough).join('\n');
}
