import { MAX_COMMAND_ARGS, MAX_NESTING_DEPTH } from './limits.js';
import type { ImapArg, ImapAtom, ImapCommand, ImapList, ImapString } from './types.js';

/**
 * Parses one framed command (lib/imap/framer.ts: the lines with their literals, without the
 * final CRLF) by the RFC 3501 §9 grammar, leniently where real clients stray and safely
 * everywhere: anything wrong is an ImapParseError, which the session answers with
 * `<tag> BAD <message>` (or `* BAD` when no tag could be read) and goes on.
 */

export class ImapParseError extends Error {
  readonly code = 'IMAP_PARSE';
  constructor(
    message: string,
    /** The command's tag, when it could be read. */
    readonly tag: string | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ImapParseError';
  }
}

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LT = 0x3c;
const GT = 0x3e;
const DOT = 0x2e;
const PLUS = 0x2b;
const TILDE = 0x7e;
/** RFC 3501 §9 number: an unsigned 32-bit integer. */
const MAX_NUMBER = 0xffff_ffff;

/** RFC 3501 ATOM-CHAR: any CHAR except atom-specials `(){ %*"\]` and CTL. */
const ATOM_CHAR = charSet((c) => c > 0x20 && c < 0x7f && !'(){%*"\\]'.includes(String.fromCharCode(c)));
/** RFC 3501 tag: 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR is ATOM-CHAR or "]". */
const TAG_CHAR = charSet((c) => (ATOM_CHAR[c] === 1 || c === RBRACKET) && c !== PLUS);
/**
 * What we take in an argument atom: ATOM-CHAR plus what clients put in atoms in practice:
 * flags (`\Seen`, `\*`), LIST wildcards (`%`, `*`), sequence sets (`1:*`), astring's `]`.
 */
const ARG_ATOM_CHAR = charSet((c) => c > 0x20 && c < 0x7f && !'(){"'.includes(String.fromCharCode(c)));

/** FETCH attributes that take a [section] (RFC 3501 §6.4.5, RFC 3516 §4.1). */
const SECTION_ATOMS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);

function charSet(test: (c: number) => boolean): Uint8Array {
  const set = new Uint8Array(256);
  for (let c = 0; c < 256; c++) set[c] = test(c) ? 1 : 0;
  return set;
}

/** Parses one command; throws ImapParseError (and nothing else) on any input. */
export function parseCommand(bytes: Buffer): ImapCommand {
  const parser = new Parser(bytes);
  try {
    return parser.command();
  } catch (err) {
    if (err instanceof ImapParseError) throw err;
    // Not expected (every path checks its input), but the promise is "only ImapParseError".
    throw new ImapParseError('Unreadable command', parser.tag, { cause: err });
  }
}

/**
 * Tag and upper-case command name from the start of a command, each null when not readable.
 * For the framer, which must answer a refused command by its tag before parsing it.
 */
export function readCommandHead(bytes: Buffer): { tag: string | null; name: string | null } {
  let i = 0;
  while (i < bytes.length && TAG_CHAR[bytes[i]!] === 1) i++;
  if (i === 0 || bytes[i] !== SP) return { tag: null, name: null };
  const tag = bytes.toString('latin1', 0, i);
  while (bytes[i] === SP) i++;
  const start = i;
  while (i < bytes.length && ATOM_CHAR[bytes[i]!] === 1) i++;
  if (i === start || (i < bytes.length && bytes[i] !== SP)) return { tag, name: null };
  return { tag, name: bytes.toString('latin1', start, i).toUpperCase() };
}

class Parser {
  tag: string | null = null;
  private pos = 0;
  private count = 0;
  /** FETCH and UID FETCH: `BODY[...]<...>` is read as an attribute with a section. */
  private sections = false;

  constructor(private readonly buf: Buffer) {}

  command(): ImapCommand {
    const { buf } = this;
    while (this.pos < buf.length && TAG_CHAR[buf[this.pos]!] === 1) this.pos++;
    if (this.pos === 0) {
      throw this.error(
        buf.length === 0 ? 'Empty command line' : `Invalid tag (starts with ${describe(buf[0]!)})`,
      );
    }
    if (this.pos < buf.length && buf[this.pos] !== SP)
      throw this.error(`Invalid character ${describe(buf[this.pos]!)} in tag`);
    this.tag = buf.toString('latin1', 0, this.pos);
    this.skipSpaces();
    const nameStart = this.pos;
    while (this.pos < buf.length && ATOM_CHAR[buf[this.pos]!] === 1) this.pos++;
    if (this.pos === nameStart) {
      throw this.error(
        this.pos >= buf.length
          ? 'Missing command name'
          : `Invalid character ${describe(buf[this.pos]!)} in command name`,
      );
    }
    if (this.pos < buf.length && buf[this.pos] !== SP) {
      throw this.error(`Invalid character ${describe(buf[this.pos]!)} in command name`);
    }
    const name = buf.toString('latin1', nameStart, this.pos).toUpperCase();
    this.sections = name === 'FETCH';

    const args: ImapArg[] = [];
    while (this.pos < buf.length) {
      // Lenient: several spaces between arguments, and trailing spaces.
      this.skipSpaces();
      if (this.pos >= buf.length) break;
      const arg = this.arg(0, false);
      if (name === 'UID' && args.length === 0) {
        if (arg.type !== 'atom' || arg.section) throw this.error('UID needs a command name');
        arg.value = arg.value.toUpperCase();
        this.sections = arg.value === 'FETCH';
      }
      args.push(arg);
      if (this.pos < buf.length && buf[this.pos] !== SP) {
        throw this.error(`Expected a space after an argument, found ${describe(buf[this.pos]!)}`);
      }
    }
    if (name === 'UID' && args.length === 0) throw this.error('UID needs a command name');
    return { tag: this.tag, name, args };
  }

  /** One argument; stops before the next space, ")" or (in a section) "]". */
  private arg(depth: number, inSection: boolean): ImapArg {
    if (++this.count > MAX_COMMAND_ARGS)
      throw this.error(`Too many arguments (more than ${MAX_COMMAND_ARGS})`);
    const c = this.buf[this.pos]!;
    if (c === LPAREN) return this.list(depth, inSection);
    if (c === DQUOTE) return this.quoted();
    if (c === LBRACE) return this.literal(false);
    if (c === TILDE && this.buf[this.pos + 1] === LBRACE) return this.literal(true);
    if (c === RPAREN) throw this.error('Unexpected ")"');
    return this.atom(depth, inSection);
  }

  private list(depth: number, inSection: boolean): ImapList {
    if (depth + 1 > MAX_NESTING_DEPTH)
      throw this.error(`Lists nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    this.pos++;
    return {
      type: 'list',
      items: this.items(RPAREN, 'unterminated list (missing ")")', depth + 1, inSection),
    };
  }

  /** Arguments up to the closing byte, separated by spaces; spaces next to the brackets are allowed. */
  private items(close: number, unterminated: string, depth: number, inSection: boolean): ImapArg[] {
    const { buf } = this;
    const items: ImapArg[] = [];
    while (true) {
      const spaces = this.skipSpaces();
      if (this.pos >= buf.length) throw this.error(capitalize(unterminated));
      const c = buf[this.pos]!;
      if (c === close) {
        this.pos++;
        return items;
      }
      if (items.length > 0 && spaces === 0) {
        throw this.error(`Expected a space or ${describe(close)}, found ${describe(c)}`);
      }
      if (inSection && c === RBRACKET) throw this.error('Unexpected "]"');
      items.push(this.arg(depth, inSection));
    }
  }

  /** RFC 3501 quoted: `\\` and `\"` are the only escapes; UTF-8 (and other 8-bit) is kept as bytes. */
  private quoted(): ImapString {
    const { buf } = this;
    this.pos++;
    let end = this.pos;
    let escapes = 0;
    while (true) {
      if (end >= buf.length) throw this.error('Unterminated quoted string');
      const c = buf[end]!;
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        const next = buf[end + 1];
        if (next !== BACKSLASH && next !== DQUOTE) {
          throw this.error(
            next === undefined
              ? 'Unterminated quoted string'
              : `Invalid escape \\${describeBare(next)} in quoted string`,
          );
        }
        escapes++;
        end += 2;
        continue;
      }
      if (c === CR || c === LF) throw this.error('Line break in quoted string (use a literal)');
      if (c === 0) throw this.error('NUL in quoted string');
      end++;
    }
    let value: Buffer;
    if (escapes === 0) {
      value = Buffer.from(buf.subarray(this.pos, end));
    } else {
      value = Buffer.allocUnsafe(end - this.pos - escapes);
      let out = 0;
      for (let i = this.pos; i < end; i++) {
        const c = buf[i] === BACKSLASH ? buf[++i]! : buf[i]!;
        value[out++] = c;
      }
    }
    this.pos = end + 1;
    return { type: 'string', value, literal: false };
  }

  /**
   * RFC 3501 literal `{n}` / RFC 7888 `{n+}` / RFC 3516 literal8 `~{n}`, then CRLF and n
   * octets. The value is a view of the command's buffer (an APPEND literal is not copied).
   */
  private literal(binary: boolean): ImapString {
    const { buf } = this;
    if (binary) this.pos++;
    this.pos++;
    const size = this.number('literal size');
    if (buf[this.pos] === PLUS) this.pos++;
    if (buf[this.pos] !== RBRACE) throw this.error('Invalid literal: expected "}" after its size');
    this.pos++;
    if (buf[this.pos] === CR && buf[this.pos + 1] === LF) this.pos += 2;
    else if (buf[this.pos] === LF) this.pos++;
    else throw this.error('Invalid literal: "}" must end the line');
    if (buf.length - this.pos < size) throw this.error('Literal is shorter than its announced size');
    const value = buf.subarray(this.pos, this.pos + size);
    // RFC 3501 §4.3: a literal holds CHAR8, no NUL; literal8 (RFC 3516) may.
    if (!binary && value.includes(0)) throw this.error('NUL in literal (only literal8 ~{n} may hold NUL)');
    this.pos += size;
    return { type: 'string', value, literal: true };
  }

  private atom(depth: number, inSection: boolean): ImapAtom {
    const { buf } = this;
    const start = this.pos;
    while (this.pos < buf.length) {
      const c = buf[this.pos]!;
      if (c === SP || c === LPAREN || c === RPAREN) break;
      if (c === RBRACKET && inSection) break;
      if (c === LBRACKET && this.sections && !inSection) {
        const value = buf.toString('latin1', start, this.pos);
        if (SECTION_ATOMS.has(value.toUpperCase())) return this.section(value, depth);
      }
      if (ARG_ATOM_CHAR[c] !== 1) {
        if (c === LBRACE) throw this.error('Unexpected "{" in an atom (a literal must start an argument)');
        if (c === DQUOTE) throw this.error('Unexpected quote in an atom');
        if (c === CR || c === LF) throw this.error('Unexpected line break');
        if (c === 0) throw this.error('NUL in command');
        if (c >= 0x80)
          throw this.error('8-bit character outside a string (use a quoted string or a literal)');
        throw this.error(`Control character ${describe(c)} in an atom`);
      }
      this.pos++;
    }
    if (this.pos === start) throw this.error(`Unexpected ${describe(buf[this.pos] ?? 0)}`);
    return { type: 'atom', value: buf.toString('latin1', start, this.pos) };
  }

  /** `BODY[section]<start.length>`: the section as arguments, the partial as numbers. */
  private section(value: string, depth: number): ImapAtom {
    if (depth + 1 > MAX_NESTING_DEPTH)
      throw this.error(`Lists nested too deeply (more than ${MAX_NESTING_DEPTH} levels)`);
    this.pos++;
    const section = this.items(RBRACKET, `unterminated section of ${value} (missing "]")`, depth + 1, true);
    const atom: ImapAtom = { type: 'atom', value, section };
    if (this.buf[this.pos] === LT) {
      this.pos++;
      const start = this.number('partial start');
      if (this.buf[this.pos] === DOT) {
        this.pos++;
        atom.partial = [start, this.number('partial length')];
      } else {
        atom.partial = [start];
      }
      if (this.buf[this.pos] !== GT) throw this.error(`Invalid partial of ${value}: expected ">"`);
      this.pos++;
    }
    return atom;
  }

  /** RFC 3501 number: 1*DIGIT, at most 4294967295. */
  private number(what: string): number {
    const { buf } = this;
    const start = this.pos;
    while (this.pos < buf.length && buf[this.pos]! >= 0x30 && buf[this.pos]! <= 0x39) this.pos++;
    if (this.pos === start) throw this.error(`Invalid ${what}: expected a number`);
    if (this.pos - start > 10) throw this.error(`Invalid ${what}: number too large`);
    const n = Number(buf.toString('latin1', start, this.pos));
    if (n > MAX_NUMBER) throw this.error(`Invalid ${what}: number too large`);
    return n;
  }

  private skipSpaces(): number {
    const start = this.pos;
    while (this.buf[this.pos] === SP) this.pos++;
    return this.pos - start;
  }

  private error(message: string): ImapParseError {
    return new ImapParseError(message, this.tag);
  }
}

function describe(c: number): string {
  return c > 0x20 && c < 0x7f
    ? `"${String.fromCharCode(c)}"`
    : c === SP
      ? 'space'
      : `0x${c.toString(16).padStart(2, '0')}`;
}

function describeBare(c: number): string {
  return c > 0x20 && c < 0x7f ? String.fromCharCode(c) : `<0x${c.toString(16).padStart(2, '0')}>`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
