import type { Readable } from 'node:stream';
import type { BlobStore } from '../blob/types.js';
import { findPart } from '../mail/index.js';
import { decodeQuotedPrintable } from '../mail/transfer-encoding.js';
import type { BodyPart, MessageStructure } from '../mail/types.js';
import { literal, literal8, quoted, type Wire } from './encode.js';
import type { ImapArg, ImapAtom } from './types.js';

/**
 * FETCH body sections (RFC 3501 §6.4.5 and §7.4.2, RFC 3516 BINARY): parsing the section of a
 * fetch attribute, reading exactly the octets it names from the blob, and the name the response
 * echoes.
 *
 * Choices, where the RFCs leave room (Dovecot's src/lib-imap-storage/imap-msgpart.c and
 * src/imap/imap-fetch-body.c are the reference):
 * - A part number that does not exist, and HEADER / TEXT / HEADER.FIELDS on a part that is not
 *   message/rfc822, are not errors: the section is empty (`{0}\r\n`), as Dovecot answers
 *   (imap_msgpart_open: "MIME part not found. return an empty part"). RFC 3501 only says what a
 *   partial past the end gives (an empty string); an empty string for a missing part keeps the
 *   FETCH going for the other messages of a sequence set, which a NO would not.
 * - Octets are served as stored, with their line ends (RFC822.SIZE is the blob size, so BODY[]
 *   must be the blob). NUL, which no IMAP literal may carry (RFC 3501 CHAR8), becomes 0x80 in
 *   BODY / RFC822 data, as Dovecot does; BINARY data keeps it and goes out as literal8.
 * - HEADER.FIELDS keeps each selected field's lines as they are (folding intact) and ends with
 *   the header's blank line; a header with no blank line (a message with no body) has none to
 *   give (RFC 3501 §7.4.2, BODY[<section>]).
 * - Section names are echoed in upper case; HEADER.FIELDS names are upper-cased and keep the form
 *   the client used (atom, or quoted string for a quoted string or literal), as Dovecot's
 *   body_header_fields_parse does: `BODY[HEADER.FIELDS (FROM "TO")]`.
 * - BINARY is only for part numbers (RFC 3516 section-binary = "[" [section-part] "]"); HEADER,
 *   TEXT and MIME with BINARY are a BAD. A leaf part is decoded (7bit, 8bit, binary as they are,
 *   base64, quoted-printable; anything else is UNKNOWN-CTE), and a text/* part gets CRLF line
 *   ends (RFC 3516 §4.3 MUST). A multipart or message/rfc822 part, and BINARY[] of the message,
 *   is returned as stored: their own transfer encoding can only be an identity one (RFC 2045
 *   §6.4), and nested parts keep theirs; a client wanting a nested part decoded asks for that
 *   part. (Dovecot instead decodes every nested part and rewrites its Content-Transfer-Encoding
 *   header; nothing in RFC 3516 asks for that.)
 * - base64 is decoded leniently: octets outside the alphabet and "=" are skipped, and n
 *   alphabet characters give floor(n * 3 / 4) octets.
 */

export type SectionKind = 'BODY' | 'BINARY' | 'BINARY.SIZE' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT';

/** The section-text after the part number ('' for none). MIME only with a part number. */
export type SectionText = '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  kind: SectionKind;
  /** BODY.PEEK / BINARY.PEEK. */
  peek: boolean;
  /** Part number, "1.2.3", or "" for the message itself. */
  part: string;
  text: SectionText;
  /** HEADER.FIELDS(.NOT) names, upper case, as matched; [] otherwise. */
  fields: string[];
  /** HEADER.FIELDS(.NOT) list as echoed in the response, e.g. `(FROM "TO")`; "" otherwise. */
  fieldList: string;
  /** <start.length>, or null for the whole section. */
  partial: { start: number; length: number } | null;
  /** Whether fetching it sets \Seen (RFC 3501 §6.4.5): BODY[], BINARY[], RFC822, RFC822.TEXT. */
  setsSeen: boolean;
}

/** Bad section syntax: the FETCH answers BAD. */
export class SectionError extends Error {
  readonly code = 'SECTION_SYNTAX';
  constructor(message: string) {
    super(message);
    this.name = 'SectionError';
  }
}

/** BINARY of a part whose transfer encoding the server cannot decode: `NO [UNKNOWN-CTE]` (RFC 3516 §4.3). */
export class UnknownCteError extends Error {
  readonly code = 'UNKNOWN_CTE';
  constructor(readonly encoding: string) {
    super(`unknown Content-Transfer-Encoding ${encoding}`);
    this.name = 'UnknownCteError';
  }
}

const MAX_UINT32 = 0xffffffff;
const SECTION_ITEMS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);
const RFC822_ITEMS = new Set(['RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);

/**
 * True for the fetch attributes this module serves: BODY[...] and BODY.PEEK[...] (BODY without a
 * section is the body structure, not a section), BINARY*, RFC822, RFC822.HEADER, RFC822.TEXT.
 */
export function isSectionAttribute(attr: ImapArg): attr is ImapAtom {
  if (attr.type !== 'atom') return false;
  const name = attr.value.toUpperCase();
  if (name === 'BODY') return attr.section !== undefined;
  return SECTION_ITEMS.has(name) || RFC822_ITEMS.has(name);
}

/** RFC822 = BODY[], RFC822.HEADER = BODY.PEEK[HEADER], RFC822.TEXT = BODY[TEXT] (RFC 3501 §6.4.5). */
export function rfc822Spec(kind: 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT'): SectionSpec {
  return {
    kind,
    peek: kind === 'RFC822.HEADER',
    part: '',
    text: kind === 'RFC822' ? '' : kind === 'RFC822.HEADER' ? 'HEADER' : 'TEXT',
    fields: [],
    fieldList: '',
    partial: null,
    setsSeen: kind !== 'RFC822.HEADER',
  };
}

/**
 * The section a fetch attribute asks for. Throws SectionError for anything the grammar does not
 * allow (RFC 3501 §9 section / partial, RFC 3516 section-binary).
 */
export function parseSection(attr: ImapAtom): SectionSpec {
  const name = attr.value.toUpperCase();
  if (RFC822_ITEMS.has(name)) {
    if (attr.section !== undefined || attr.partial !== undefined)
      throw new SectionError(`${name} takes no section`);
    return rfc822Spec(name as 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT');
  }
  if (!SECTION_ITEMS.has(name)) throw new SectionError(`${attr.value} is not a body section`);
  if (attr.section === undefined) throw new SectionError(`${name} needs a section`);

  const kind: SectionKind = name.startsWith('BODY')
    ? 'BODY'
    : name === 'BINARY.SIZE'
      ? 'BINARY.SIZE'
      : 'BINARY';
  const peek = name.endsWith('.PEEK');
  const items = attr.section;
  let part = '';
  let text: SectionText = '';
  let fields: string[] = [];
  let fieldList = '';

  if (items.length > 0) {
    const first = items[0] as ImapArg;
    if (first.type !== 'atom' || first.section !== undefined || first.partial !== undefined) {
      throw new SectionError('invalid section');
    }
    ({ part, text } = parseSectionText(first.value));
    const wantsList = text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT';
    if (wantsList) {
      const header = items[1];
      if (items.length !== 2 || header === undefined || header.type !== 'list') {
        throw new SectionError(`${text} needs one list of field names`);
      }
      ({ fields, fieldList } = parseHeaderList(header.items));
    } else if (items.length !== 1) {
      throw new SectionError('unexpected data in section');
    }
  }

  if (kind !== 'BODY' && text !== '') throw new SectionError('BINARY takes only a part number');

  let partial: SectionSpec['partial'] = null;
  if (attr.partial !== undefined) {
    if (kind === 'BINARY.SIZE') throw new SectionError('BINARY.SIZE takes no partial');
    const [start, length] = attr.partial;
    if (length === undefined) throw new SectionError('partial needs <start.length>');
    if (!isUint32(start) || !isUint32(length) || length === 0) throw new SectionError('invalid partial');
    partial = { start, length };
  }

  return {
    kind,
    peek,
    part,
    text,
    fields,
    fieldList,
    partial,
    setsSeen: !peek && kind !== 'BINARY.SIZE',
  };
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_UINT32;
}

/** "1.2.HEADER.FIELDS" into part "1.2" and text "HEADER.FIELDS" (RFC 3501 §9 section-spec). */
function parseSectionText(value: string): { part: string; text: SectionText } {
  const tokens = value.toUpperCase().split('.');
  const numbers: string[] = [];
  while (tokens.length > 0 && /^\d+$/.test(tokens[0] as string)) {
    const n = tokens.shift() as string;
    // nz-number, and small enough to be a part (no message has 2^32 parts)
    if (!/^[1-9]\d{0,9}$/.test(n) || Number(n) > MAX_UINT32) throw new SectionError('invalid part number');
    numbers.push(n);
  }
  const rest = tokens.join('.');
  const part = numbers.join('.');
  switch (rest) {
    case '':
      // "BODY[1.]" splits into ["1", ""]: tokens was [""], rest "" but a token was left
      if (tokens.length > 0) throw new SectionError('invalid section');
      return { part, text: '' };
    case 'HEADER':
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
    case 'TEXT':
      return { part, text: rest };
    case 'MIME':
      if (part === '') throw new SectionError('MIME needs a part number');
      return { part, text: 'MIME' };
    default:
      throw new SectionError('invalid section');
  }
}

/** header-list = "(" header-fld-name *(SP header-fld-name) ")", header-fld-name = astring. */
function parseHeaderList(items: ImapArg[]): { fields: string[]; fieldList: string } {
  if (items.length === 0) throw new SectionError('empty header list');
  const fields: string[] = [];
  const echo: string[] = [];
  for (const item of items) {
    if (
      item.type === 'list' ||
      (item.type === 'atom' && (item.section !== undefined || item.partial !== undefined))
    ) {
      throw new SectionError('header list holds a non-string');
    }
    const value = (item.type === 'atom' ? item.value : item.value.toString('latin1')).toUpperCase();
    // a field name is printable ASCII (RFC 5322 §3.6.8); anything else could never match and
    // could not be echoed in a quoted string
    if (!/^[\x21-\x7e]*$/.test(value)) throw new SectionError('invalid header field name');
    fields.push(value);
    echo.push(item.type === 'atom' ? value : (quoted(value)[0] as string));
  }
  return { fields, fieldList: `(${echo.join(' ')})` };
}

/**
 * The name the FETCH response gives the data (RFC 3501 §7.4.2): BODY[<section>]<<origin>>
 * (BODY.PEEK answers as BODY), BINARY[<part>]<<origin>>, BINARY.SIZE[<part>], RFC822,
 * RFC822.HEADER, RFC822.TEXT.
 */
export function responseName(spec: SectionSpec): string {
  if (spec.kind === 'RFC822' || spec.kind === 'RFC822.HEADER' || spec.kind === 'RFC822.TEXT')
    return spec.kind;
  let section = spec.part;
  if (spec.text !== '') section += (section === '' ? '' : '.') + spec.text;
  if (spec.fieldList !== '') section += ' ' + spec.fieldList;
  const origin = spec.partial === null ? '' : `<${spec.partial.start}>`;
  return `${spec.kind}[${section}]${origin}`;
}

/** The whole FETCH data item for a section: `BODY[1] {n}\r\n...`, BINARY data as literal8 when it holds NUL. */
export function encodeSectionResponse(spec: SectionSpec, data: Buffer): Wire {
  const value = spec.kind === 'BINARY' && data.includes(0) ? literal8(data) : literal(data);
  return [responseName(spec), ' ', ...value];
}

/** `BINARY.SIZE[1] 1234`. */
export function encodeBinarySizeResponse(spec: SectionSpec, size: number): Wire {
  return [responseName(spec), ' ', String(size)];
}

/** What a section resolves to in the structure. */
type Target =
  | { type: 'empty' }
  | { type: 'range'; start: number; end: number }
  | { type: 'fields'; start: number; end: number; exclude: boolean }
  | { type: 'binary'; part: BodyPart };

const EMPTY = Buffer.alloc(0);

function resolve(structure: MessageStructure, spec: SectionSpec): Target {
  const body = structure.body;
  if (spec.part === '') {
    // the message itself: BODY[], BODY[HEADER...], BODY[TEXT], BINARY[]
    return entityTarget(spec, 0, body.bodyStart, structure.size);
  }
  const part = findPart(body, spec.part);
  if (part === null) return { type: 'empty' };
  if (spec.kind === 'BINARY' || spec.kind === 'BINARY.SIZE') {
    // a multipart or message/rfc822 goes out as stored (see the module comment)
    return isComposite(part)
      ? { type: 'range', start: part.bodyStart, end: part.end }
      : { type: 'binary', part };
  }
  switch (spec.text) {
    case '':
      return { type: 'range', start: part.bodyStart, end: part.end };
    case 'MIME':
      return { type: 'range', start: part.headerStart, end: part.bodyStart };
    default: {
      // HEADER / TEXT / HEADER.FIELDS of a part: only a message/rfc822 part has them
      const message = part.message;
      if (message === undefined) return { type: 'empty' };
      return entityTarget(spec, message.headerStart, message.bodyStart, message.end);
    }
  }
}

/** A message (top level or enclosed): header [headerStart, bodyStart), text [bodyStart, end). */
function entityTarget(spec: SectionSpec, headerStart: number, bodyStart: number, end: number): Target {
  switch (spec.text) {
    case '':
      return { type: 'range', start: headerStart, end };
    case 'HEADER':
      return { type: 'range', start: headerStart, end: bodyStart };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return {
        type: 'fields',
        start: headerStart,
        end: bodyStart,
        exclude: spec.text === 'HEADER.FIELDS.NOT',
      };
    case 'TEXT':
      return { type: 'range', start: bodyStart, end };
    case 'MIME':
      // parseSection never gives MIME without a part number
      return { type: 'empty' };
  }
}

/**
 * Exactly the octets the FETCH response carries for `spec` (partial applied), read from the blob
 * by byte range: the whole message only for BODY[] / RFC822 / BINARY[], the header range for
 * HEADER.FIELDS, otherwise the section's range (or just the partial's slice of it). Throws
 * UnknownCteError for BINARY of a part it cannot decode. Not for BINARY.SIZE (see binarySize).
 */
export async function readSection(
  blobs: BlobStore,
  blobKey: string,
  structure: MessageStructure,
  spec: SectionSpec,
): Promise<Buffer> {
  if (spec.kind === 'BINARY.SIZE') throw new TypeError('BINARY.SIZE has no data; use binarySize');
  const target = resolve(structure, spec);
  switch (target.type) {
    case 'empty':
      return EMPTY;
    case 'range': {
      // only the partial's slice is read
      let { start, end } = target;
      if (spec.partial !== null) {
        if (spec.partial.start >= end - start) return EMPTY;
        start += spec.partial.start;
        end = Math.min(end, start + spec.partial.length);
      }
      const data = await readRange(blobs, blobKey, start, end);
      return spec.kind === 'BINARY' ? data : withoutNul(data);
    }
    case 'fields': {
      const header = await readRange(blobs, blobKey, target.start, target.end);
      return withoutNul(applyPartial(filterHeaderFields(header, spec.fields, target.exclude), spec));
    }
    case 'binary':
      return applyPartial(await binaryContent(blobs, blobKey, target.part), spec);
  }
}

/**
 * BINARY.SIZE: the size of BINARY[part] without partial (RFC 3516 §4.2). Reads nothing for a part
 * whose data goes out as stored; otherwise decodes the part (the same code as readSection, so the
 * two always agree). Throws UnknownCteError like readSection.
 */
export async function binarySize(
  blobs: BlobStore,
  blobKey: string,
  structure: MessageStructure,
  spec: SectionSpec,
): Promise<number> {
  const target = resolve(structure, { ...spec, kind: 'BINARY', partial: null });
  switch (target.type) {
    case 'empty':
      return 0;
    case 'range':
    case 'fields':
      return target.end - target.start;
    case 'binary': {
      const part = target.part;
      if (part.type !== 'text' && IDENTITY.has(part.encoding)) return part.end - part.bodyStart;
      return (await binaryContent(blobs, blobKey, part)).length;
    }
  }
}

const IDENTITY = new Set(['7bit', '8bit', 'binary']);

function isComposite(part: BodyPart): boolean {
  return part.parts !== undefined || part.message !== undefined;
}

/** BINARY of a leaf part: transfer encoding removed, CRLF line ends for text. */
async function binaryContent(blobs: BlobStore, blobKey: string, part: BodyPart): Promise<Buffer> {
  const encoding = part.encoding;
  if (!IDENTITY.has(encoding) && encoding !== 'base64' && encoding !== 'quoted-printable') {
    throw new UnknownCteError(encoding);
  }
  const raw = await readRange(blobs, blobKey, part.bodyStart, part.end);
  let data: Buffer;
  if (encoding === 'base64') data = decodeBase64(raw);
  else if (encoding === 'quoted-printable') data = decodeQuotedPrintable(raw);
  else data = raw;
  return part.type === 'text' ? toCrlf(data) : data;
}

/** base64 that skips octets outside the alphabet (line breaks, junk) and "=" (see the module comment). */
export function decodeBase64(input: Buffer): Buffer {
  const clean = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (const c of input) {
    if (
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x2b || // +
      c === 0x2f // /
    ) {
      clean[n++] = c;
    }
  }
  return Buffer.from(clean.toString('latin1', 0, n), 'base64');
}

/** Bare LF to CRLF (RFC 3516 §4.3: textual sections go out with CRLF line ends). */
export function toCrlf(data: Buffer): Buffer {
  let bare = 0;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) {
    if (i === 0 || data[i - 1] !== 0x0d) bare += 1;
  }
  if (bare === 0) return data;
  const out = Buffer.allocUnsafe(data.length + bare);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number;
    if (c === 0x0a && (i === 0 || data[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = c;
  }
  return out;
}

function applyPartial(data: Buffer, spec: SectionSpec): Buffer {
  if (spec.partial === null) return data;
  const { start, length } = spec.partial;
  if (start >= data.length) return EMPTY;
  return data.subarray(start, Math.min(data.length, start + length));
}

/** NUL to 0x80: no IMAP literal may carry NUL (RFC 3501 CHAR8); Dovecot does the same. */
function withoutNul(data: Buffer): Buffer {
  if (!data.includes(0)) return data;
  const out = Buffer.from(data);
  for (let i = out.indexOf(0); i !== -1; i = out.indexOf(0, i + 1)) out[i] = 0x80;
  return out;
}

/**
 * HEADER.FIELDS / HEADER.FIELDS.NOT of a header block (the octets from the first header line up
 * to and including the blank line, when there is one). Field names are compared without case;
 * a selected field keeps all its lines (folding) as they are; the blank line ends the result.
 * A line that is neither a field nor a continuation belongs to no field: it is dropped by
 * HEADER.FIELDS and kept by HEADER.FIELDS.NOT.
 */
export function filterHeaderFields(header: Buffer, names: readonly string[], exclude: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toUpperCase()));
  const out: Buffer[] = [];
  let keep = false;
  let pos = 0;
  while (pos < header.length) {
    const lf = header.indexOf(0x0a, pos);
    const next = lf === -1 ? header.length : lf + 1;
    const first = header[pos];
    if (first === 0x0a || (first === 0x0d && header[pos + 1] === 0x0a)) {
      out.push(header.subarray(pos, next)); // the blank line that ends the header
      break;
    }
    if (first === 0x20 || first === 0x09) {
      if (keep) out.push(header.subarray(pos, next));
    } else {
      const colon = header.subarray(pos, next).indexOf(0x3a);
      if (colon === -1) keep = exclude;
      else {
        const name = header
          .toString('latin1', pos, pos + colon)
          .replace(/[ \t]+$/, '')
          .toUpperCase();
        keep = wanted.has(name) !== exclude;
      }
      if (keep) out.push(header.subarray(pos, next));
    }
    pos = next;
  }
  return Buffer.concat(out);
}

/** The octets [start, end) of a blob, read as one range request. */
async function readRange(blobs: BlobStore, key: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return EMPTY;
  const stream: Readable = await blobs.get(key, { start, end });
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
