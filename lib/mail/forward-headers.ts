import { parseAddressList } from './address.js';
import { decodeRawHeader } from './charset.js';
import { firstField, parseHeaderBlock } from './header.js';
import { decodeWords } from './summary.js';

/*
 * A forward sent through a service that only sends from verified identities (Amazon SES:
 * "Email address is not verified" otherwise) cannot keep the author's From. It is sent as
 * mailing lists and Google Groups send it since DMARC: From becomes the forwarding address
 * with the author's name and "via <domain>", Reply-To the author (unless the message names
 * one), and the header fields that speak for the author's domain go: Sender, Return-Path
 * and DKIM-Signature (the signature covers From and would fail; the sending service signs
 * for the forwarding domain). Every other octet, the body included, stays as it was.
 */

/** Fields dropped from a forward sent as the forwarding address. */
const DROPPED = new Set(['from', 'sender', 'return-path', 'dkim-signature']);
/** Octets of UTF-8 per RFC 2047 encoded word: 60 base64 characters, 72 with the framing. */
const WORD_BYTES = 45;

/**
 * The message with its From rewritten to `via` (an address of ours on whose behalf it is
 * forwarded), or undefined when its From is already of via's domain and it can go as it is.
 */
export function rewriteForForward(raw: Buffer, via: string): Buffer | undefined {
  const viaDomain = via.slice(via.lastIndexOf('@') + 1).toLowerCase();
  const { fields, headerEnd } = parseHeaderBlock(raw, 0, raw.length);
  const from = firstField(fields, 'from');
  const author = from ? authorOf(from.value) : undefined;
  if (author && author.host.toLowerCase() === viaDomain) return undefined;

  const name = `${author?.name || author?.address || 'unknown sender'} via ${viaDomain}`;
  let added = `From: ${phrase(name)} <${via}>\r\n`;
  // The author's own From field, renamed: its folding and encoding stay as they were.
  if (from && !firstField(fields, 'reply-to')) {
    added += 'Reply-To' + raw.toString('latin1', from.start + from.name.length, from.end);
  }
  // Copy the raw octets between the fields that go; the new fields take the first From's place.
  const pieces: Buffer[] = [];
  let copied = 0;
  let placed = false;
  for (const field of fields) {
    if (!DROPPED.has(field.key)) continue;
    pieces.push(raw.subarray(copied, field.start));
    if (field.key === 'from' && !placed) {
      pieces.push(Buffer.from(added, 'latin1'));
      placed = true;
    }
    copied = field.end;
  }
  if (!placed) {
    // No From: before the blank line (or at the end of a message that is all header).
    pieces.push(raw.subarray(copied, headerEnd));
    if (headerEnd > 0 && raw[headerEnd - 1] !== 0x0a) pieces.push(Buffer.from('\r\n'));
    pieces.push(Buffer.from(added, 'latin1'));
    copied = headerEnd;
  }
  pieces.push(raw.subarray(copied));
  return Buffer.concat(pieces);
}

/** The first address of a From value, and its display name decoded. */
function authorOf(value: string): { name: string; address: string; host: string } | undefined {
  const decoded = decodeRawHeader(value.trim(), 'utf-8');
  const found = (parseAddressList(decoded) ?? []).find((a) => a.mailbox !== null && a.host !== null);
  if (!found) return undefined;
  const name = found.name === null ? '' : decodeWords(found.name).trim();
  return { name, address: `${found.mailbox}@${found.host}`, host: found.host! };
}

/** A display name as a quoted string, or as RFC 2047 encoded words when it is not ASCII. */
function phrase(text: string): string {
  const clean = text.replace(/[\r\n\t]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const words: string[] = [];
  let chunk = '';
  for (const char of clean) {
    if (Buffer.byteLength(chunk + char) > WORD_BYTES) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word, 'utf8').toString('base64')}?=`).join('\r\n ');
}
