import { MAX_HEADER_FIELDS } from './limits.js';

/**
 * Header blocks (RFC 5322 §2.2, §3.2.2) read straight from the raw octets. Values are latin1
 * strings (one char per octet), unfolded but otherwise as on the wire: no RFC 2047 decoding,
 * no charset decoding. That is what ENVELOPE and BODYSTRUCTURE want (RFC 3501 §7.4.2).
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

export interface HeaderField {
  /** The field name as written, e.g. "Content-Type". */
  name: string;
  /** Lower-case name, for lookups. */
  key: string;
  /** Unfolded value (CRLF before WSP removed), leading and trailing white space trimmed, latin1. */
  value: string;
  /** Octets of the field in the raw message: its first line's start, past its last line's end. */
  start: number;
  end: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** First octet of the blank line that ends the header; `end` when there is none. */
  headerEnd: number;
  /** First octet after the blank line that ends the header; `end` when there is none (no body). */
  bodyStart: number;
}

/**
 * Parses the header block that begins at `start`, reading no further than `end`. The block
 * ends with the first empty line (CRLF CRLF or LF LF, bare CR being ordinary data); when
 * there is no empty line the whole range is header and the body is empty, as Dovecot does.
 * Lines that are neither a field nor a continuation (no colon, a space in the name, an mbox
 * "From " line) are skipped but stay part of the block. Linear in the block's size.
 */
export function parseHeaderBlock(raw: Buffer, start: number, end: number): HeaderBlock {
  const fields: HeaderField[] = [];
  // The current field's pieces; joined when the next field starts, so a field folded over
  // many lines costs one join rather than repeated concatenation.
  let name: string | null = null;
  let pieces: string[] = [];
  let fieldStart = start;
  let fieldEnd = start;
  const view = raw.subarray(0, end);

  const flush = (): void => {
    if (name !== null && fields.length < MAX_HEADER_FIELDS) {
      const value = (pieces.length === 1 ? (pieces[0] ?? '') : pieces.join('')).replace(
        /^[ \t]+|[ \t\r]+$/g,
        '',
      );
      fields.push({ name, key: name.toLowerCase(), value, start: fieldStart, end: fieldEnd });
    }
    name = null;
    pieces = [];
  };

  let pos = start;
  while (pos < end) {
    const lf = view.indexOf(LF, pos);
    const next = lf === -1 ? end : lf + 1;
    let lineEnd = lf === -1 ? end : lf;
    if (lf !== -1 && lineEnd > pos && raw[lineEnd - 1] === CR) lineEnd -= 1;

    if (lineEnd === pos && lf !== -1) {
      // the empty line: end of header
      flush();
      return { fields, headerEnd: pos, bodyStart: next };
    }

    const first = raw[pos];
    if (first === SP || first === HTAB) {
      // continuation of a folded field (RFC 5322 §2.2.3: unfolding removes only the CRLF)
      if (name !== null) {
        pieces.push(raw.toString('latin1', pos, lineEnd));
        fieldEnd = next;
      }
    } else {
      flush();
      const found = raw.subarray(pos, lineEnd).indexOf(COLON);
      const colon = found === -1 ? -1 : pos + found;
      if (colon !== -1) {
        const fieldName = raw.toString('latin1', pos, colon).replace(/[ \t]+$/, '');
        // RFC 5322 §3.6.8 ftext: printable ASCII but colon; obs-syntax allows WSP before the colon
        if (/^[\x21-\x39\x3b-\x7e]+$/.test(fieldName)) {
          name = fieldName;
          pieces = [raw.toString('latin1', colon + 1, lineEnd)];
          fieldStart = pos;
          fieldEnd = next;
        }
      }
    }
    pos = next;
  }
  flush();
  return { fields, headerEnd: end, bodyStart: end };
}

/** The first field named `key` (lower case), or undefined. */
export function firstField(fields: readonly HeaderField[], key: string): HeaderField | undefined {
  return fields.find((f) => f.key === key);
}

/** Every field named `key` (lower case), in order. */
export function allFields(fields: readonly HeaderField[], key: string): HeaderField[] {
  return fields.filter((f) => f.key === key);
}
