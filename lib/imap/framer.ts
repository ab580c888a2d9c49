import { APPEND_LIMIT, MAX_COMMAND_BYTES, MAX_LINE_BYTES, MAX_LITERAL_BYTES } from './limits.js';
import { readCommandHead } from './parser.js';

/**
 * Turns the bytes of an IMAP connection into complete commands (RFC 3501 §2.2): a command is
 * a line, or several lines joined by literals. Parsing the command is the parser's job.
 */

export type FramerErrorKind = 'line-too-long' | 'literal-too-large';

export interface FramerError {
  type: 'error';
  kind: FramerErrorKind;
  /** The tag of the refused command, when its first line had a readable one. */
  tag: string | null;
  /** Upper-case command name (e.g. "APPEND"), when readable: APPEND answers NO [TOOBIG] (RFC 7889). */
  command: string | null;
  /** For literal-too-large: the announced literal size (Infinity when too long to count). */
  bytes?: number;
  /** The limit that applied. */
  limit: number;
  /** For literal-too-large: true for {n} (client waits for "+"), false for {n+} (bytes were skipped). */
  sync?: boolean;
}

export type FramerEvent =
  /** One complete command, literals inline as received, without the final CRLF. */
  | { type: 'command'; bytes: Buffer }
  /** One line in raw mode (AUTHENTICATE responses, IDLE's DONE), without its CRLF. */
  | { type: 'line'; bytes: Buffer }
  /** A synchronizing literal was accepted: send `+ <text>\r\n` now (RFC 3501 §7.5). */
  | { type: 'continue'; text: string }
  | FramerError;

export interface CommandFramerOptions {
  /** Longest line, without CRLF and literals. Default MAX_LINE_BYTES. */
  maxLineBytes?: number;
  /** The limit for the literal about to start, given the command so far (up to its "}"). */
  maxLiteralBytes?: (partial: Buffer) => number;
  /** Largest whole command, lines and literals together. Default MAX_COMMAND_BYTES. */
  maxCommandBytes?: number;
  /** Text of the continuation request. */
  continueText?: string;
}

/** Default literal limit: APPEND (RFC 7889 APPENDLIMIT) takes a message, others a short string. */
export function literalLimitFor(partial: Buffer): number {
  return readCommandHead(partial).name === 'APPEND' ? APPEND_LIMIT : MAX_LITERAL_BYTES;
}

const LF = 0x0a;
const CR = 0x0d;
const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
/** Enough of a discarded line's end to see `{4294967295+}` (RFC 7888 literal marker). */
const TAIL_BYTES = 24;
/** Enough of a refused command's start to read its tag and name. */
const HEAD_BYTES = 1024;
/** A buffer above this is dropped rather than reused after a command. */
const KEEP_BYTES = 16 * 1024;

const enum Mode {
  /** Reading a line into the command. */
  Line,
  /** Reading an accepted literal into the command. */
  Literal,
  /** Throwing away the bytes of a refused {n+} literal (RFC 7888 §4: the client sends them anyway). */
  Skip,
  /** Throwing away the rest of a refused command's line. */
  Discard,
}

interface LiteralMarker {
  size: number;
  sync: boolean;
}

/**
 * Linear in its input: each byte is looked at a constant number of times (one indexOf, one
 * copy); no buffer is re-scanned per chunk. Memory is bounded by the limits: the command
 * being built never exceeds maxCommandBytes, discarded bytes are not kept.
 *
 * Two ways to use it: `push(chunk)` returns every event the chunk completes; `write(chunk)`
 * then `next()` returns them one at a time, so that `rawLines` can be switched between two
 * events of one chunk (a client that pipelines `IDLE` and `DONE`).
 */
export class CommandFramer {
  /** Return each line as `{ type: 'line' }`, no literal processing (AUTHENTICATE, IDLE). */
  rawLines = false;

  private readonly maxLine: number;
  private readonly maxLiteral: (partial: Buffer) => number;
  private readonly maxCommand: number;
  private readonly continueText: string;

  private readonly input: Buffer[] = [];
  private inHead = 0;
  private inOff = 0;
  private readonly out: FramerEvent[] = [];

  private mode = Mode.Line;
  /** Bytes left of the literal being read or skipped. */
  private remaining = 0;
  /** In Discard mode: whether a {n+} at the end of the line means n more bytes to skip. */
  private discardLiterals = true;
  private readonly tail = Buffer.alloc(TAIL_BYTES);
  private tailLen = 0;

  /** The command being built: cmd[0, cmdLen); the current line starts at lineStart. */
  private cmd: Buffer = EMPTY;
  private cmdLen = 0;
  private lineStart = 0;

  constructor(options: CommandFramerOptions = {}) {
    this.maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.maxLiteral = options.maxLiteralBytes ?? literalLimitFor;
    this.maxCommand = options.maxCommandBytes ?? MAX_COMMAND_BYTES;
    this.continueText = options.continueText ?? 'Ready for literal data';
  }

  /** Bytes held for the command being built (bounded by maxCommandBytes). */
  get bufferedBytes(): number {
    return this.cmdLen;
  }

  /** Bytes written but not yet framed (only with write/next). */
  get pendingBytes(): number {
    let n = 0;
    for (let i = this.inHead; i < this.input.length; i++) n += this.input[i]!.length;
    return n - this.inOff;
  }

  /** Frames all of the chunk (and anything written before) and returns the events, in order. */
  push(chunk: Buffer): FramerEvent[] {
    this.write(chunk);
    const events: FramerEvent[] = [];
    for (let event = this.next(); event; event = this.next()) events.push(event);
    return events;
  }

  /** Queues bytes for next(). */
  write(chunk: Buffer): void {
    if (chunk.length > 0) this.input.push(chunk);
  }

  /** The next event, or null when more bytes are needed. */
  next(): FramerEvent | null {
    while (this.out.length === 0 && this.step());
    return this.out.shift() ?? null;
  }

  /** Processes one stretch of the current input chunk; false when the input is used up. */
  private step(): boolean {
    let chunk = this.input[this.inHead];
    while (chunk && this.inOff >= chunk.length) {
      this.inHead++;
      this.inOff = 0;
      chunk = this.input[this.inHead];
    }
    if (!chunk) {
      this.input.length = 0;
      this.inHead = 0;
      return false;
    }
    if (this.inHead > 1024) {
      this.input.splice(0, this.inHead);
      this.inHead = 0;
    }
    switch (this.mode) {
      case Mode.Line:
        this.readLine(chunk);
        break;
      case Mode.Literal: {
        const take = Math.min(this.remaining, chunk.length - this.inOff);
        this.append(chunk, this.inOff, this.inOff + take);
        this.inOff += take;
        this.remaining -= take;
        if (this.remaining === 0) this.endLiteral();
        break;
      }
      case Mode.Skip: {
        const take = Math.min(this.remaining, chunk.length - this.inOff);
        this.inOff += take;
        this.remaining -= take;
        if (this.remaining === 0) this.startDiscard(true);
        break;
      }
      case Mode.Discard:
        this.discardLine(chunk);
        break;
    }
    return true;
  }

  private readLine(chunk: Buffer): void {
    const start = this.inOff;
    const lf = chunk.indexOf(LF, start);
    const end = lf === -1 ? chunk.length : lf;
    const lineSoFar = this.cmdLen - this.lineStart + (end - start);
    if (lf === -1) {
      // One byte of slack: it may be the CR of a CRLF that has not arrived yet.
      if (lineSoFar > this.maxLine + 1 || this.lineStart + lineSoFar > this.maxCommand + 1) {
        this.overflow(chunk, start, end);
        return;
      }
      this.append(chunk, start, end);
      this.inOff = end;
      return;
    }
    const last = end > start ? chunk[end - 1] : this.cmdLen > this.lineStart ? this.cmd[this.cmdLen - 1] : -1;
    const lineLen = last === CR ? lineSoFar - 1 : lineSoFar;
    if (lineLen > this.maxLine || this.lineStart + lineLen > this.maxCommand) {
      this.overflow(chunk, start, end);
      return;
    }
    this.append(chunk, start, end);
    this.inOff = lf + 1;
    // Bare LF is taken as CRLF (lenient); the CR is not part of the line.
    if (this.cmdLen > this.lineStart && this.cmd[this.cmdLen - 1] === CR) this.cmdLen--;
    this.endLine();
  }

  /** A whole line is in cmd[lineStart, cmdLen). */
  private endLine(): void {
    if (this.rawLines && this.lineStart === 0) {
      this.out.push({ type: 'line', bytes: this.takeCommand() });
      return;
    }
    const marker = literalMarker(this.cmd, this.lineStart, this.cmdLen);
    if (!marker) {
      this.out.push({ type: 'command', bytes: this.takeCommand() });
      return;
    }
    const limit = this.maxLiteral(this.cmd.subarray(0, this.cmdLen));
    const room = this.maxCommand - this.cmdLen - CRLF.length;
    if (!(marker.size <= limit && marker.size <= room)) {
      const head = readCommandHead(this.cmd.subarray(0, this.cmdLen));
      this.out.push({
        type: 'error',
        kind: 'literal-too-large',
        tag: head.tag,
        command: head.name,
        bytes: marker.size,
        limit: Math.max(0, Math.min(limit, room)),
        sync: marker.sync,
      });
      this.resetCommand();
      if (marker.sync) {
        // RFC 3501 §7.5: no "+", so the client sends no literal; the command ends here.
        this.mode = Mode.Line;
      } else {
        // RFC 7888 §4: the client sends a non-synchronizing literal regardless; skip it.
        this.mode = Mode.Skip;
        this.remaining = marker.size;
      }
      return;
    }
    this.append(CRLF, 0, CRLF.length);
    if (marker.sync) this.out.push({ type: 'continue', text: this.continueText });
    this.mode = Mode.Literal;
    this.remaining = marker.size;
    if (marker.size === 0) this.endLiteral();
  }

  private endLiteral(): void {
    this.mode = Mode.Line;
    this.lineStart = this.cmdLen;
  }

  /** The current line broke a limit; chunk[start, end) is its part in this chunk, not yet copied. */
  private overflow(chunk: Buffer, start: number, end: number): void {
    // The same prefix whatever the chunking, so the error reads the same: at least
    // min(maxLine, maxCommand) + 1 bytes of the first line are at hand here.
    const headLen = Math.min(HEAD_BYTES, this.maxLine, this.maxCommand);
    const firstLine =
      this.lineStart > 0
        ? this.cmd.subarray(0, Math.min(this.lineStart, headLen))
        : Buffer.concat([
            this.cmd.subarray(0, Math.min(this.cmdLen, headLen)),
            chunk.subarray(start, Math.min(end, start + Math.max(0, headLen - this.cmdLen))),
          ]);
    const head = readCommandHead(firstLine);
    const raw = this.rawLines && this.lineStart === 0;
    this.out.push({
      type: 'error',
      kind: 'line-too-long',
      tag: raw ? null : head.tag,
      command: raw ? null : head.name,
      // What this line could have held: the same whichever limit the chunking hit first.
      limit: Math.max(0, Math.min(this.maxLine, this.maxCommand - this.lineStart)),
    });
    // Keep the end of what was read of this line: it may end in a {n+} marker.
    this.startDiscard(!raw);
    this.feedTail(this.cmd, Math.max(this.lineStart, this.cmdLen - TAIL_BYTES), this.cmdLen);
    this.resetCommand();
    // The rest of the line (from `start`) goes through discardLine.
  }

  private startDiscard(literals: boolean): void {
    this.mode = Mode.Discard;
    this.discardLiterals = literals;
    this.tailLen = 0;
  }

  /** Skips to the end of the line; a {n+} there means n bytes follow that belong to the refused command. */
  private discardLine(chunk: Buffer): void {
    const start = this.inOff;
    const lf = chunk.indexOf(LF, start);
    const end = lf === -1 ? chunk.length : lf;
    this.feedTail(chunk, Math.max(start, end - TAIL_BYTES), end);
    if (lf === -1) {
      this.inOff = end;
      return;
    }
    this.inOff = lf + 1;
    let tailEnd = this.tailLen;
    if (tailEnd > 0 && this.tail[tailEnd - 1] === CR) tailEnd--;
    const marker = this.discardLiterals ? literalMarker(this.tail, 0, tailEnd) : null;
    this.tailLen = 0;
    if (marker && !marker.sync) {
      this.mode = Mode.Skip;
      this.remaining = marker.size;
    } else {
      // A {n} here gets no "+", so the client sends nothing more of this command.
      this.mode = Mode.Line;
    }
  }

  private feedTail(src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.tailLen + n > TAIL_BYTES) {
      const keep = TAIL_BYTES - n;
      this.tail.copyWithin(0, this.tailLen - keep, this.tailLen);
      this.tailLen = keep;
    }
    src.copy(this.tail, this.tailLen, from, to);
    this.tailLen += n;
  }

  private append(src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    const need = this.cmdLen + n;
    if (need > this.cmd.length) {
      // Doubling keeps copying linear; the cap keeps memory within the command limit.
      const cap = Math.max(need, Math.min(Math.max(256, this.cmd.length * 2), this.maxCommand + CRLF.length));
      const grown = Buffer.allocUnsafe(cap);
      this.cmd.copy(grown, 0, 0, this.cmdLen);
      this.cmd = grown;
    }
    src.copy(this.cmd, this.cmdLen, from, to);
    this.cmdLen = need;
  }

  /** Hands the command's bytes out (no copy) and starts a fresh buffer. */
  private takeCommand(): Buffer {
    const bytes = this.cmd.subarray(0, this.cmdLen);
    this.cmd = EMPTY;
    this.cmdLen = 0;
    this.lineStart = 0;
    return bytes;
  }

  private resetCommand(): void {
    if (this.cmd.length > KEEP_BYTES) this.cmd = EMPTY;
    this.cmdLen = 0;
    this.lineStart = 0;
  }
}

/**
 * The literal marker at the end of buf[from, to): `{n}` or `{n+}` (also after "~", literal8,
 * RFC 3516). A size too big to count exactly is Infinity, so it is refused.
 */
function literalMarker(buf: Buffer, from: number, to: number): LiteralMarker | null {
  let i = to - 1;
  if (i < from || buf[i] !== 0x7d /* } */) return null;
  i--;
  let sync = true;
  if (i >= from && buf[i] === 0x2b /* + */) {
    sync = false;
    i--;
  }
  const digitsEnd = i + 1;
  while (i >= from && buf[i]! >= 0x30 && buf[i]! <= 0x39) i--;
  if (i < from || buf[i] !== 0x7b /* { */ || i + 1 === digitsEnd) return null;
  const digits = digitsEnd - (i + 1);
  const size = digits > 15 ? Infinity : Number(buf.toString('latin1', i + 1, digitsEnd));
  return { size, sync };
}
