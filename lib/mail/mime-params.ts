import { isUtf8 } from 'node:buffer';
import { decodeBytes, decodeRawHeader, hasNonUtf8Octets, isKnownCharset } from './charset.js';
import { MAX_PARAM_SEGMENTS, MAX_PARAMS } from './limits.js';

/**
 * MIME structured fields: Content-Type and Content-Disposition with their parameters
 * (RFC 2045 §5.1, RFC 2183), RFC 822 comments and quoted strings, RFC 2231 parameter value
 * continuations and charset'language'%XX encoding. Input is a latin1 header value (one char
 * per octet) as parseHeaderBlock returns it.
 */

export interface MimeParam {
  /** Lower case, RFC 2231 suffixes (`*`, `*0*`) removed. */
  name: string;
  /** Decoded to a JS (UTF-16) string: RFC 2231 charset applied, raw 8-bit octets decoded. RFC 2047 words are left as they are. */
  value: string;
  /** The value's octets as a latin1 string (quoted-string unescaped, RFC 2231 percent-decoded), for the boundary. */
  raw: string;
}

export interface StructuredValue {
  /** The value before the first `;`, comments and white space removed, e.g. "text/plain". */
  value: string;
  params: MimeParam[];
}

/** Decoding context shared by one parse: the charset guessed for undeclared 8-bit octets. */
export interface DecodeContext {
  fallbackCharset: string;
  /** Set when some 8-bit value was not UTF-8 and needed the fallback. */
  usedFallback: boolean;
}

const WSP = new Set([' ', '\t', '\r', '\n']);

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  peek(): string {
    return this.s.charAt(this.i);
  }

  /** Skips white space and (nested) comments. */
  skipCfws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charAt(this.i);
      if (WSP.has(c)) this.i += 1;
      else if (c === '(') this.skipComment();
      else break;
    }
  }

  /** Skips a comment starting at `(`; returns its text (unescaped, nested parens kept). Unterminated runs to the end. */
  skipComment(): string {
    const s = this.s;
    let depth = 0;
    const start = this.i;
    while (this.i < s.length) {
      const c = s.charAt(this.i);
      if (c === '\\') {
        this.i += 2;
        continue;
      }
      this.i += 1;
      if (c === '(') depth += 1;
      else if (c === ')') {
        depth -= 1;
        if (depth === 0) break;
      }
    }
    return s.slice(start + 1, depth === 0 ? this.i - 1 : this.i);
  }

  /** Reads a quoted string starting at `"`; returns its unescaped content. Unterminated runs to the end. */
  readQuoted(): string {
    const s = this.s;
    this.i += 1;
    let out = '';
    let from = this.i;
    while (this.i < s.length) {
      const c = s.charAt(this.i);
      if (c === '\\') {
        out += s.slice(from, this.i);
        from = this.i + 1;
        this.i += 2;
        continue;
      }
      if (c === '"') {
        out += s.slice(from, this.i);
        this.i += 1;
        return out;
      }
      this.i += 1;
    }
    return out + s.slice(from, Math.min(this.i, s.length));
  }

  /** Advances past the next `;` (or to the end), ignoring quoted strings and comments on the way. */
  skipToSemicolon(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charAt(this.i);
      if (c === ';') return;
      if (c === '"') this.readQuoted();
      else if (c === '(') this.skipComment();
      else this.i += 1;
    }
  }
}

/**
 * Parses a structured MIME field. Lenient where real mail is sloppy: unquoted values with
 * spaces (`name=my file.txt`), missing or doubled semicolons, unterminated quotes and
 * comments, parameters without a value (ignored). Never throws; linear in the input.
 */
export function parseStructured(input: string, ctx: DecodeContext): StructuredValue {
  const sc = new Scanner(input);
  let value = '';
  // main value: everything up to the first ';' with comments and white space dropped
  while (!sc.done) {
    const c = sc.peek();
    if (c === ';') break;
    if (c === '(') sc.skipComment();
    else if (WSP.has(c)) sc.i += 1;
    else if (c === '"') value += sc.readQuoted();
    else {
      value += c;
      sc.i += 1;
    }
  }

  interface Plain {
    kind: 'plain';
    name: string;
    raw: string;
  }
  interface Extended {
    kind: 'extended';
    name: string;
    segments: Map<number, { text: string; encoded: boolean }>;
  }
  const entries: (Plain | Extended)[] = [];
  const extended = new Map<string, Extended>();

  while (!sc.done && entries.length < MAX_PARAMS) {
    sc.skipCfws();
    if (sc.done) break;
    if (sc.peek() === ';') {
      sc.i += 1;
      continue;
    }
    // attribute
    const nameStart = sc.i;
    while (!sc.done) {
      const c = sc.peek();
      if (c === '=' || c === ';' || c === '(' || c === '"' || WSP.has(c)) break;
      sc.i += 1;
    }
    const attribute = input.slice(nameStart, sc.i).toLowerCase();
    sc.skipCfws();
    if (attribute === '' || sc.peek() !== '=') {
      // not a parameter (junk, or a name without value): skip it
      if (attribute === '' && !sc.done && sc.peek() !== ';') sc.i += 1;
      sc.skipToSemicolon();
      continue;
    }
    sc.i += 1; // '='
    sc.skipCfws();
    let raw: string;
    if (sc.peek() === '"') {
      raw = sc.readQuoted();
      sc.skipToSemicolon();
    } else {
      const start = sc.i;
      while (!sc.done) {
        const c = sc.peek();
        if (c === ';' || c === '(') break;
        sc.i += 1;
      }
      raw = input.slice(start, sc.i).replace(/[ \t\r\n]+$/, '');
      sc.skipToSemicolon();
    }

    const m = /^(.+?)\*(\d+)?(\*)?$/.exec(attribute);
    if (m !== null && m[1] !== undefined) {
      // RFC 2231: name* (encoded), name*N (continuation), name*N* (encoded continuation)
      const base = m[1];
      const index = m[2] === undefined ? 0 : Number(m[2]);
      const encoded = m[2] === undefined || m[3] !== undefined;
      if (!Number.isSafeInteger(index) || index >= MAX_PARAM_SEGMENTS) continue;
      let entry = extended.get(base);
      if (entry === undefined) {
        entry = { kind: 'extended', name: base, segments: new Map() };
        extended.set(base, entry);
        entries.push(entry);
      }
      if (!entry.segments.has(index)) entry.segments.set(index, { text: raw, encoded });
    } else {
      entries.push({ kind: 'plain', name: attribute, raw });
    }
  }

  const params: MimeParam[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) continue;
    if (entry.kind === 'plain') {
      // an RFC 2231 form of the same parameter is the better one (RFC 2231 §4 fallbacks)
      if (extended.has(entry.name)) continue;
      if (hasNonUtf8Octets(entry.raw)) ctx.usedFallback = true;
      params.push({
        name: entry.name,
        value: decodeRawHeader(entry.raw, ctx.fallbackCharset),
        raw: entry.raw,
      });
    } else {
      params.push(decodeExtended(entry.name, entry.segments, ctx));
    }
    seen.add(entry.name);
  }
  return { value, params };
}

function decodeExtended(
  name: string,
  segments: Map<number, { text: string; encoded: boolean }>,
  ctx: DecodeContext,
): MimeParam {
  const order = [...segments.keys()].sort((a, b) => a - b);
  let charset = '';
  const chunks: Buffer[] = [];
  order.forEach((index, n) => {
    const seg = segments.get(index);
    if (seg === undefined) return;
    let text = seg.text;
    if (n === 0 && seg.encoded) {
      // charset'language'value; a value without the two quotes has neither
      const q1 = text.indexOf("'");
      const q2 = q1 === -1 ? -1 : text.indexOf("'", q1 + 1);
      if (q2 !== -1) {
        charset = text.slice(0, q1).trim();
        text = text.slice(q2 + 1);
      }
    }
    chunks.push(seg.encoded ? percentDecode(text) : Buffer.from(text, 'latin1'));
  });
  const bytes = Buffer.concat(chunks);
  let value: string;
  if (charset !== '' && isKnownCharset(charset)) {
    value = decodeBytes(bytes, charset);
  } else if (isUtf8(bytes)) {
    value = bytes.toString('utf8');
  } else {
    ctx.usedFallback = true;
    value = decodeBytes(bytes, ctx.fallbackCharset);
  }
  if (value.includes('\u0000')) value = value.replaceAll('\u0000', '\uFFFD');
  return { name, value, raw: bytes.toString('latin1') };
}

const HEX = /^[0-9a-fA-F]{2}$/;

/** `%XX` to octets; anything else (including a stray `%`) is taken as the latin1 octet it is. */
function percentDecode(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && HEX.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return out.subarray(0, n);
}

/** Removes comments from a simple field value (Content-Transfer-Encoding, Content-Language). */
export function stripComments(input: string): string {
  if (!input.includes('(')) return input;
  const sc = new Scanner(input);
  let out = '';
  let from = 0;
  while (!sc.done) {
    const c = sc.peek();
    if (c === '"') sc.readQuoted();
    else if (c === '(') {
      out += input.slice(from, sc.i) + ' ';
      sc.skipComment();
      from = sc.i;
    } else sc.i += 1;
  }
  return out + input.slice(from);
}

/** Content-Transfer-Encoding: the mechanism token, lower case; "7bit" when absent or empty (RFC 2045 §6.1). */
export function parseEncoding(value: string | undefined): string {
  if (value === undefined) return '7bit';
  const token =
    stripComments(value)
      .trim()
      .split(/[ \t\r\n;]+/)[0] ?? '';
  // not a token (8-bit junk, NUL): as good as absent
  return /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/.test(token) ? token.toLowerCase() : '7bit';
}

/** Content-Language (RFC 3282): comma-separated tags, comments removed; null when there are none. */
export function parseLanguage(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const tags = stripComments(value)
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return tags.length === 0 ? null : tags;
}
