import { DEFAULT_FALLBACK_CHARSET, decodeRawHeader, hasNonUtf8Octets, isKnownCharset } from './charset.js';
import { buildEnvelope } from './envelope.js';
import { firstField, parseHeaderBlock, type HeaderField } from './header.js';
import { MAX_BOUNDARY_LENGTH, MAX_MIME_DEPTH, MAX_MIME_PARTS } from './limits.js';
import {
  parseEncoding,
  parseLanguage,
  parseStructured,
  type DecodeContext,
  type MimeParam,
} from './mime-params.js';
import type { BodyPart, Disposition, MessageStructure } from './types.js';

/**
 * The MIME structure of a raw message with byte offsets (RFC 2045, RFC 2046, RFC 3501
 * §6.4.5 and §7.4.2), computed over the octets themselves so that BODY[section] is a byte
 * range of the blob:
 *
 * - `raw.subarray(part.bodyStart, part.end)` is BODY[n], `raw.subarray(part.headerStart,
 *   part.bodyStart)` is BODY[n.MIME] (or the message header for the top level and for the
 *   `message` of a message/rfc822 part: BODY[n.HEADER]).
 * - Inside a multipart, the CRLF (or LF) before a boundary line belongs to the boundary
 *   (RFC 2046 §5.1.1), so it is not part of the preceding part. The preamble and the epilogue
 *   belong to no part. A missing close delimiter is tolerated: the last part runs to the end
 *   of the multipart.
 * - A boundary line is `--boundary` at the start of a line, then `--` for the close
 *   delimiter, then only spaces/tabs (transport padding) before the line break. Anything else
 *   after the boundary means it is not a delimiter, which is what keeps a boundary that is a
 *   prefix of another (`abc` and `abc-1`) apart. Nested multiparts are split inside their
 *   parent's part range, so an inner part can never run past an outer boundary.
 * - Defaults (RFC 2045 §5.2): no or an invalid Content-Type is text/plain; charset=us-ascii,
 *   or message/rfc822 directly inside multipart/digest (RFC 2046 §5.1.5). A multipart without
 *   a usable boundary parameter is an invalid Content-Type, so it gets that default too.
 * - A multipart in which no part is found gets one empty text/plain part at its end, so that
 *   every multipart has at least one child as BODYSTRUCTURE requires (Dovecot writes the same
 *   empty text/plain in that case).
 * - `lines` (text/* and message/rfc822) counts line breaks (LF, with or without CR) in the
 *   body, plus one for a last line that does not end with one. A multipart child's body never
 *   ends with its own line break (that belongs to the boundary), so "Hello\r\nWorld" is two
 *   lines, as the user sees it and as WildDuck reports (its indexer counts the LFs of a body
 *   that keeps the line break before the boundary); Dovecot counts LFs only
 *   (message-parser.c parse_body_add_block) and would say one.
 * - Past MAX_MIME_DEPTH levels of nesting, or once MAX_MIME_PARTS parts exist, a multipart or
 *   message/rfc822 is kept as one opaque application/octet-stream part (its bytes are still
 *   served by BODY[n]); further parts of a multipart are ignored like an epilogue.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const DASH = 0x2d;

/** RFC 2045 §5.1 token. */
const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/;

interface Entity {
  part: BodyPart;
  fields: HeaderField[];
}

interface BuildContext extends DecodeContext {
  raw: Buffer;
  parts: number;
}

export interface ParsedTree {
  structure: MessageStructure;
  /** The top-level header fields (latin1, unfolded), for headerText and the summary. */
  fields: HeaderField[];
  /** The charset that undeclared 8-bit octets in headers and parameters were decoded with. */
  fallbackCharset: string;
}

/**
 * Computes the MIME structure and ENVELOPE of a raw message. Never throws on any input;
 * linear in the message size times the nesting depth (each level scans its own range once).
 *
 * 8-bit octets in headers that are not UTF-8 are decoded with the charset the message
 * declares for its text (the first non-ASCII, non-UTF-8 charset parameter in the tree),
 * else latin1: what an old client that wrote raw KOI8-R into a Subject most likely meant.
 */
export function parseMimeTree(raw: Buffer): ParsedTree {
  const first = build(raw, DEFAULT_FALLBACK_CHARSET);
  if (!first.usedFallback) return first.tree;
  const guess = guessCharset(first.tree.structure.body);
  if (guess === DEFAULT_FALLBACK_CHARSET) return first.tree;
  // rare: some header had undeclared 8-bit text; decode it again with the declared charset
  return build(raw, guess).tree;
}

function build(raw: Buffer, fallbackCharset: string): { tree: ParsedTree; usedFallback: boolean } {
  const ctx: BuildContext = { raw, parts: 0, fallbackCharset, usedFallback: false };
  const top = parseEntity(ctx, 0, raw.length, 0, false);
  const envelope = buildEnvelope(top.fields, ctx);
  return {
    tree: { structure: { size: raw.length, envelope, body: top.part }, fields: top.fields, fallbackCharset },
    usedFallback: ctx.usedFallback,
  };
}

/** The first charset parameter in the tree that is worth guessing with (known, not ASCII/UTF-8). */
export function guessCharset(root: BodyPart): string {
  let found: string | null = null;
  const visit = (part: BodyPart, depth: number): void => {
    if (found !== null || depth > MAX_MIME_DEPTH) return;
    const charset = part.params.find(([name]) => name === 'charset')?.[1]?.trim();
    if (charset !== undefined && !/^(?:utf-?8|(?:us-)?ascii)$/i.test(charset) && isKnownCharset(charset)) {
      found = charset;
      return;
    }
    for (const child of part.parts ?? []) visit(child, depth + 1);
    if (part.message !== undefined) visit(part.message, depth + 1);
  };
  visit(root, 0);
  return found ?? DEFAULT_FALLBACK_CHARSET;
}

function parseEntity(
  ctx: BuildContext,
  headerStart: number,
  end: number,
  depth: number,
  inDigest: boolean,
): Entity {
  const { raw } = ctx;
  ctx.parts += 1;
  const header = parseHeaderBlock(raw, headerStart, end);
  const fields = header.fields;
  const bodyStart = header.bodyStart;
  const value = (key: string): string | undefined => firstField(fields, key)?.value;

  let type: string;
  let subtype: string;
  let params: MimeParam[];
  const contentType = value('content-type');
  const parsed = contentType === undefined ? null : parseStructured(contentType, ctx);
  const slash = parsed === null ? -1 : parsed.value.indexOf('/');
  const t = parsed === null || slash === -1 ? '' : parsed.value.slice(0, slash);
  const s = parsed === null || slash === -1 ? '' : parsed.value.slice(slash + 1);
  if (parsed !== null && TOKEN.test(t) && TOKEN.test(s)) {
    type = t.toLowerCase();
    subtype = s.toLowerCase();
    params = parsed.params;
  } else if (inDigest) {
    type = 'message';
    subtype = 'rfc822';
    params = [];
  } else {
    type = 'text';
    subtype = 'plain';
    params = [{ name: 'charset', value: 'us-ascii', raw: 'us-ascii' }];
  }

  let boundary: string | null = null;
  if (type === 'multipart') {
    const b = params.find((p) => p.name === 'boundary')?.raw ?? '';
    if (b === '' || b.length > MAX_BOUNDARY_LENGTH) {
      // RFC 2046 §5.1.1: boundary is mandatory; without it the Content-Type is invalid (RFC 2045 §5.2)
      type = 'text';
      subtype = 'plain';
      params = [{ name: 'charset', value: 'us-ascii', raw: 'us-ascii' }];
    } else boundary = b;
  }

  const isMessage = type === 'message' && subtype === 'rfc822';
  if ((type === 'multipart' || isMessage) && (depth >= MAX_MIME_DEPTH || ctx.parts >= MAX_MIME_PARTS)) {
    type = 'application';
    subtype = 'octet-stream';
    params = [];
    boundary = null;
  }

  const dispositionValue = value('content-disposition');
  let disposition: Disposition | null = null;
  if (dispositionValue !== undefined) {
    const d = parseStructured(dispositionValue, ctx);
    if (TOKEN.test(d.value))
      disposition = { type: d.value.toLowerCase(), params: d.params.map((p) => [p.name, p.value]) };
  }

  const text = (key: string): string | null => {
    const v = value(key);
    if (v === undefined) return null;
    if (hasNonUtf8Octets(v)) ctx.usedFallback = true;
    return decodeRawHeader(v, ctx.fallbackCharset);
  };

  const part: BodyPart = {
    headerStart,
    bodyStart,
    end,
    type,
    subtype,
    params: params.map((p) => [p.name, p.value]),
    id: text('content-id'),
    description: text('content-description'),
    encoding: parseEncoding(value('content-transfer-encoding')),
    size: end - bodyStart,
    lines: null,
    md5: text('content-md5'),
    disposition,
    language: parseLanguage(text('content-language') ?? undefined),
    location: text('content-location'),
  };

  if (type === 'text' || (type === 'message' && subtype === 'rfc822')) {
    part.lines = countLines(raw, bodyStart, end);
  }

  if (type === 'message' && subtype === 'rfc822') {
    const inner = parseEntity(ctx, bodyStart, end, depth + 1, false);
    part.envelope = buildEnvelope(inner.fields, ctx);
    part.message = inner.part;
  } else if (type === 'multipart' && boundary !== null) {
    const ranges = splitMultipart(
      raw,
      bodyStart,
      end,
      Buffer.from('--' + boundary, 'latin1'),
      MAX_MIME_PARTS - ctx.parts,
    );
    const children: BodyPart[] = [];
    for (const [start, stop] of ranges) {
      if (ctx.parts >= MAX_MIME_PARTS) break;
      children.push(parseEntity(ctx, start, stop, depth + 1, subtype === 'digest').part);
    }
    if (children.length === 0) children.push(plainTextPart(raw, end, end, end));
    part.parts = children;
  }
  return { part, fields };
}

/** A plain-text part over [bodyStart, end): the RFC 2045 default, used where no real structure can be read. */
export function plainTextPart(raw: Buffer, headerStart: number, bodyStart: number, end: number): BodyPart {
  return {
    headerStart,
    bodyStart,
    end,
    type: 'text',
    subtype: 'plain',
    params: [['charset', 'us-ascii']],
    id: null,
    description: null,
    encoding: '7bit',
    size: end - bodyStart,
    lines: countLines(raw, bodyStart, end),
    md5: null,
    disposition: null,
    language: null,
    location: null,
  };
}

/**
 * The [headerStart, end) ranges of the parts of a multipart body in raw[start, end), split at
 * `delimiter` ("--" + boundary). At most `limit` ranges.
 */
export function splitMultipart(
  raw: Buffer,
  start: number,
  end: number,
  delimiter: Buffer,
  limit: number,
): [number, number][] {
  const view = raw.subarray(0, end); // bounds indexOf to this multipart
  const ranges: [number, number][] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end && ranges.length < limit) {
    const i = view.indexOf(delimiter, pos);
    if (i === -1) break;
    if (i !== start && raw[i - 1] !== LF) {
      pos = i + 1; // not at the start of a line
      continue;
    }
    let j = i + delimiter.length;
    let close = false;
    if (j + 1 < end && raw[j] === DASH && raw[j + 1] === DASH) {
      close = true;
      j += 2;
    }
    while (j < end && (raw[j] === SP || raw[j] === HTAB || raw[j] === CR)) j += 1;
    if (j < end && raw[j] !== LF) {
      if (!close) {
        pos = i + 1; // "--boundaryX": a longer boundary, or text that starts like one
        continue;
      }
      // "--boundary--junk": still the close delimiter; the rest of the line is epilogue
      const lf = view.indexOf(LF, j);
      j = lf === -1 ? end : lf;
    }
    const lineEnd = j < end ? j + 1 : end;
    if (partStart !== -1) {
      // the line break before the delimiter belongs to the delimiter (RFC 2046 §5.1.1)
      let partEnd = i;
      if (partEnd > start && raw[partEnd - 1] === LF) {
        partEnd -= 1;
        if (partEnd > start && raw[partEnd - 1] === CR) partEnd -= 1;
      }
      ranges.push([partStart, Math.max(partStart, partEnd)]);
    }
    if (close) return ranges;
    partStart = lineEnd;
    pos = lineEnd;
  }
  if (partStart !== -1 && ranges.length < limit) ranges.push([partStart, end]); // no close delimiter
  return ranges;
}

/**
 * Lines of raw[start, end): LF line breaks (CRLF or bare LF; a bare CR is not one), plus one
 * when the range is not empty and does not end with LF. See the module comment for why.
 */
export function countLines(raw: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  const view = raw.subarray(start, end);
  let lines = 0;
  let pos = view.indexOf(LF);
  while (pos !== -1) {
    lines += 1;
    pos = view.indexOf(LF, pos + 1);
  }
  if (view[view.length - 1] !== LF) lines += 1;
  return lines;
}

/**
 * Visits every part that has an IMAP section number (RFC 3501 §6.4.5), in order, with that
 * number: "1" for a non-multipart message body, "1", "2", ... for the children of a
 * multipart, "n.1" for the body of a message/rfc822 part n that is not multipart and
 * "n.1", "n.2", ... for the children of one that is. A multipart message body itself has no
 * number and is not visited. When `visit` returns false, the part's children (or enclosed
 * message) are skipped.
 */
export function walkParts(body: BodyPart, visit: (part: BodyPart, section: string) => void | false): void {
  const child = (part: BodyPart, section: string): void => {
    if (visit(part, section) === false) return;
    if (part.parts !== undefined) part.parts.forEach((p, i) => child(p, `${section}.${i + 1}`));
    else if (part.message !== undefined) messageBody(part.message, section);
  };
  const messageBody = (part: BodyPart, prefix: string): void => {
    const at = (n: number): string => (prefix === '' ? String(n) : `${prefix}.${n}`);
    if (part.parts !== undefined) part.parts.forEach((p, i) => child(p, at(i + 1)));
    else child(part, at(1));
  };
  messageBody(body, '');
}

/** The part with IMAP section number `section` ("1.2.3"), or null when there is none. */
export function findPart(body: BodyPart, section: string): BodyPart | null {
  if (!/^[1-9]\d*(?:\.[1-9]\d*)*$/.test(section)) return null;
  const numbers = section.split('.').map(Number);
  let current: BodyPart = body;
  let isMessageBody = true;
  for (const n of numbers) {
    let next: BodyPart | undefined;
    let container: BodyPart | undefined = current;
    if (!isMessageBody && current.parts === undefined) {
      container = current.message;
      if (container === undefined) return null;
    }
    if (container.parts !== undefined) next = container.parts[n - 1];
    else if (n === 1 && (isMessageBody || container !== current)) next = container;
    if (next === undefined) return null;
    current = next;
    isMessageBody = false;
  }
  return current;
}
