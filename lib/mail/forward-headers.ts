import { parseAddressList } from './address.js';
import { decodeRawHeader } from './charset.js';
import { parseHeaderBlock } from './header.js';
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
  const { bodyStart } = parseHeaderBlock(raw, 0, raw.length);
  const fields = splitFields(raw.toString('latin1', 0, bodyStart));
  const from = fields.find((field) => field.key === 'from');
  const author = from ? authorOf(from.value) : undefined;
  if (author && author.host.toLowerCase() === viaDomain) return undefined;

  const hasReplyTo = fields.some((field) => field.key === 'reply-to');
  const out: string[] = [];
  let placed = false;
  const place = () => {
    out.push(
      `From: ${phrase(`${author?.name || author?.address || 'unknown sender'} via ${viaDomain}`)} <${via}>\r\n`,
    );
    // The author's own From field, renamed: its folding and encoding stay as they were.
    if (from && !hasReplyTo) out.push('Reply-To:' + from.text.slice(from.text.indexOf(':') + 1));
    placed = true;
  };
  for (const field of fields) {
    if (field.key === 'from' && !placed) place();
    if (field.key !== null && DROPPED.has(field.key)) continue;
    // The blank line that ends the header: a message without From gets one before it.
    if (field.key === null && field.text.trim() === '' && !placed) place();
    out.push(field.text);
  }
  if (!placed) {
    // No blank line: the whole message is header.
    if (out.length > 0 && !out.at(-1)!.endsWith('\n')) out.push('\r\n');
    place();
  }
  return Buffer.concat([Buffer.from(out.join(''), 'latin1'), raw.subarray(bodyStart)]);
}

interface RawField {
  /** Lower-case name; null for a line that is not a field (the blank line, stray text). */
  key: string | null;
  /** Unfolded value. */
  value: string;
  /** The field's octets as they were (latin1), folding and line ends included. */
  text: string;
}

/** The header's fields, each with its continuation lines, as latin1 text. */
function splitFields(header: string): RawField[] {
  const lines = header.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const fields: RawField[] = [];
  for (const line of lines) {
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last?.key) {
      last.text += line;
      last.value += line.replace(/\r?\n$/, '');
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const key = name !== '' && !/[\s]/.test(name) ? name.toLowerCase() : null;
    fields.push({ key, value: key ? line.slice(colon + 1).replace(/\r?\n$/, '') : '', text: line });
  }
  return fields;
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
