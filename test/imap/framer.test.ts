import { describe, expect, it } from 'vitest';
import {
  CommandFramer,
  literalLimitFor,
  type CommandFramerOptions,
  type FramerEvent,
} from '../../lib/imap/framer.js';
import { APPEND_LIMIT, MAX_LITERAL_BYTES } from '../../lib/imap/limits.js';

/** Events with Buffers turned into strings, so that toEqual shows readable diffs. */
type Shown = { type: string; text?: string; bytes?: string | number; [key: string]: unknown };

function show(events: FramerEvent[]): Shown[] {
  return events.map((event) =>
    event.type === 'command' || event.type === 'line'
      ? { type: event.type, bytes: event.bytes.toString('latin1') }
      : { ...event },
  );
}

function frame(input: string | Buffer, options: CommandFramerOptions = {}, chunks?: number[]): Shown[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const framer = new CommandFramer({ maxLineBytes: 1024, maxLiteralBytes: () => 1024, ...options });
  const events: FramerEvent[] = [];
  let at = 0;
  for (const cut of [...(chunks ?? []), bytes.length]) {
    events.push(...framer.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return show(events);
}

describe('CommandFramer', () => {
  const TWO_LITERALS = 'a1 LOGIN {5}\r\nhello {3+}\r\nabc\r\na2 NOOP\r\n';

  it('frames a command with a sync and a non-sync literal, literals inline as received', () => {
    // Prepare / Act
    const events = frame(TWO_LITERALS);

    // Assess
    expect(events).toEqual([
      { type: 'continue', text: 'Ready for literal data' },
      { type: 'command', bytes: 'a1 LOGIN {5}\r\nhello {3+}\r\nabc' },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('gives the same events whatever the chunk boundaries', () => {
    // Prepare
    const whole = frame(TWO_LITERALS);

    // Act / Assess: one split at every index, two splits at every pair, one byte at a time.
    for (let i = 0; i <= TWO_LITERALS.length; i++) {
      expect(frame(TWO_LITERALS, {}, [i]), `split at ${i}`).toEqual(whole);
      for (let j = i; j <= TWO_LITERALS.length; j++) {
        expect(frame(TWO_LITERALS, {}, [i, j]), `split at ${i} and ${j}`).toEqual(whole);
      }
    }
    const everyByte = Array.from({ length: TWO_LITERALS.length }, (_, i) => i);
    expect(frame(TWO_LITERALS, {}, everyByte)).toEqual(whole);
  });

  it('asks for continuation only for synchronizing literals, as soon as the line ends', () => {
    // Prepare
    const framer = new CommandFramer({ maxLineBytes: 1024, maxLiteralBytes: () => 1024 });

    // Act
    const afterSync = show(framer.push(Buffer.from('a1 LOGIN {4}\r\n')));
    const afterLiteral = show(framer.push(Buffer.from('user {4+}\r\n')));
    const atEnd = show(framer.push(Buffer.from('pass\r\n')));

    // Assess
    expect(afterSync).toEqual([{ type: 'continue', text: 'Ready for literal data' }]);
    expect(afterLiteral).toEqual([]);
    expect(atEnd).toEqual([{ type: 'command', bytes: 'a1 LOGIN {4}\r\nuser {4+}\r\npass' }]);
  });

  it('takes a zero-length literal and a literal8', () => {
    // Prepare / Act
    const events = frame('a1 LOGIN {0}\r\n {0+}\r\n\r\na2 APPEND x ~{3}\r\n\0\x01\x02\r\n');

    // Assess
    expect(events).toEqual([
      { type: 'continue', text: 'Ready for literal data' },
      { type: 'command', bytes: 'a1 LOGIN {0}\r\n {0+}\r\n' },
      { type: 'continue', text: 'Ready for literal data' },
      { type: 'command', bytes: 'a2 APPEND x ~{3}\r\n\0\x01\x02' },
    ]);
  });

  it('refuses a too-long line with the tag, and frames the next command', () => {
    // Prepare
    const long = `a1 SEARCH TEXT ${'x'.repeat(100)}\r\na2 NOOP\r\n`;

    // Act
    const events = frame(long, { maxLineBytes: 50 });

    // Assess
    expect(events).toEqual([
      { type: 'error', kind: 'line-too-long', tag: 'a1', command: 'SEARCH', limit: 50 },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('refuses a too-long line in any chunking, holding no more than the limit', () => {
    // Prepare
    const framer = new CommandFramer({ maxLineBytes: 50, maxLiteralBytes: () => 1024 });
    const events: FramerEvent[] = [];

    // Act
    events.push(...framer.push(Buffer.from('a1 SEARCH ')));
    for (let i = 0; i < 1000; i++) events.push(...framer.push(Buffer.from('x'.repeat(100))));
    const held = framer.bufferedBytes;
    events.push(...framer.push(Buffer.from('\r\na2 NOOP\r\n')));

    // Assess
    expect(held).toBe(0);
    expect(show(events)).toEqual([
      { type: 'error', kind: 'line-too-long', tag: 'a1', command: 'SEARCH', limit: 50 },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('a line of exactly the limit passes, with CRLF or LF', () => {
    // Prepare
    const line = 'a1 NOOP ' + 'x'.repeat(42);

    // Act
    const crlf = frame(`${line}\r\n`, { maxLineBytes: 50 }, [50]);
    const lf = frame(`${line}\n`, { maxLineBytes: 50 });
    const over = frame(`${line}y\r\n`, { maxLineBytes: 50 }, [51]);

    // Assess
    expect(crlf).toEqual([{ type: 'command', bytes: line }]);
    expect(lf).toEqual([{ type: 'command', bytes: line }]);
    expect(over).toMatchObject([{ type: 'error', kind: 'line-too-long', tag: 'a1' }]);
  });

  it('skips the non-sync literal at the end of a too-long line', () => {
    // Prepare: the literal's bytes look like a command; they must not be framed as one.
    const input = `a1 APPEND ${'x'.repeat(60)} {10+}\r\nz1 NOOP\r\n\r\na2 NOOP\r\n`;

    // Act
    const events = frame(input, { maxLineBytes: 50 });

    // Assess
    expect(events).toMatchObject([
      { type: 'error', kind: 'line-too-long', tag: 'a1' },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('refuses a too-large sync literal without "+", and the next command is framed', () => {
    // Prepare
    const input = 'a1 LOGIN {100}\r\na2 NOOP\r\n';

    // Act
    const events = frame(input, { maxLiteralBytes: () => 10 });

    // Assess: RFC 3501 §7.5, the client sends no literal when it gets no "+".
    expect(events).toEqual([
      {
        type: 'error',
        kind: 'literal-too-large',
        tag: 'a1',
        command: 'LOGIN',
        bytes: 100,
        limit: 10,
        sync: true,
      },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('skips exactly the bytes of a refused non-sync literal, then the rest of its command', () => {
    // Prepare: 20 literal bytes that look like commands, then more of the line, with a second {n+}.
    const literal = 'x1 NOOP\r\nx2 NOOP\r\nxx';
    expect(literal).toHaveLength(20);
    const input = `a1 LOGIN {20+}\r\n${literal} {4+}\r\nx3\r\n\r\na2 NOOP\r\n`;

    // Act: whole, and split at every index.
    const whole = frame(input, { maxLiteralBytes: () => 10 });

    // Assess: RFC 7888 §4, the client sent the literal anyway.
    expect(whole).toEqual([
      {
        type: 'error',
        kind: 'literal-too-large',
        tag: 'a1',
        command: 'LOGIN',
        bytes: 20,
        limit: 10,
        sync: false,
      },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
    for (let i = 0; i <= input.length; i++)
      expect(frame(input, { maxLiteralBytes: () => 10 }, [i])).toEqual(whole);
  });

  it('refuses a literal size too big to count, without hanging on it', () => {
    // Prepare / Act
    const events = frame('a1 LOGIN {99999999999999999999999}\r\na2 NOOP\r\n');

    // Assess
    expect(events).toMatchObject([
      { type: 'error', kind: 'literal-too-large', tag: 'a1', bytes: Infinity, sync: true },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('limits a whole command made of many small literals', () => {
    // Prepare
    const input = 'a1 X' + ' {1+}\r\nx'.repeat(100) + '\r\na2 NOOP\r\n';

    // Act
    const events = frame(input, { maxCommandBytes: 200 });

    // Assess: whichever of its lines or literals crosses the limit, the rest is skipped.
    expect(events).toMatchObject([
      { type: 'error', kind: 'line-too-long', tag: 'a1', command: 'X' },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
  });

  it('passes the command so far to maxLiteralBytes, so APPEND gets APPENDLIMIT', () => {
    // Prepare
    const seen: string[] = [];
    const make = () =>
      new CommandFramer({
        maxLineBytes: 1024,
        maxLiteralBytes: (partial) => {
          seen.push(partial.toString('latin1'));
          return literalLimitFor(partial);
        },
      });

    // Act
    const append = show(make().push(Buffer.from(`a1 append INBOX (\\Seen) {${MAX_LITERAL_BYTES + 1}}\r\n`)));
    const login = show(make().push(Buffer.from(`a2 LOGIN {${MAX_LITERAL_BYTES + 1}}\r\n`)));

    // Assess
    expect(seen).toEqual([
      `a1 append INBOX (\\Seen) {${MAX_LITERAL_BYTES + 1}}`,
      `a2 LOGIN {${MAX_LITERAL_BYTES + 1}}`,
    ]);
    expect(append).toEqual([{ type: 'continue', text: 'Ready for literal data' }]);
    expect(login).toMatchObject([
      { type: 'error', kind: 'literal-too-large', tag: 'a2', limit: MAX_LITERAL_BYTES },
    ]);
    expect(literalLimitFor(Buffer.from('t APPEND x {5}'))).toBe(APPEND_LIMIT);
    expect(literalLimitFor(Buffer.from('t SEARCH {5}'))).toBe(MAX_LITERAL_BYTES);
  });

  it('returns raw lines in rawLines mode, without literal processing', () => {
    // Prepare
    const framer = new CommandFramer({ maxLineBytes: 1024, maxLiteralBytes: () => 1024 });

    // Act
    framer.rawLines = true;
    const raw = show(framer.push(Buffer.from('dGVzdA== {5}\r\nDONE\n')));
    framer.rawLines = false;
    const normal = show(framer.push(Buffer.from('a1 NOOP\r\n')));

    // Assess
    expect(raw).toEqual([
      { type: 'line', bytes: 'dGVzdA== {5}' },
      { type: 'line', bytes: 'DONE' },
    ]);
    expect(normal).toEqual([{ type: 'command', bytes: 'a1 NOOP' }]);
  });

  it('lets rawLines switch between two events of one chunk with write/next', () => {
    // Prepare
    const framer = new CommandFramer({ maxLineBytes: 1024, maxLiteralBytes: () => 1024 });
    framer.write(Buffer.from('a1 IDLE\r\nDONE\r\na2 NOOP\r\n'));

    // Act
    const idle = framer.next();
    framer.rawLines = true;
    const done = framer.next();
    framer.rawLines = false;
    const noop = framer.next();
    const none = framer.next();

    // Assess
    expect(show([idle!, done!, noop!])).toEqual([
      { type: 'command', bytes: 'a1 IDLE' },
      { type: 'line', bytes: 'DONE' },
      { type: 'command', bytes: 'a2 NOOP' },
    ]);
    expect(none).toBeNull();
    expect(framer.pendingBytes).toBe(0);
  });

  it('refuses a too-long raw line without a tag', () => {
    // Prepare
    const framer = new CommandFramer({ maxLineBytes: 10, maxLiteralBytes: () => 1024 });
    framer.rawLines = true;

    // Act
    const events = show(framer.push(Buffer.from('a1 ' + 'A'.repeat(20) + ' {5+}\r\nDONE\r\n')));

    // Assess: in raw mode a {5+} is not a literal, so DONE is the next line.
    expect(events).toMatchObject([
      { type: 'error', kind: 'line-too-long', tag: null },
      { type: 'line', bytes: 'DONE' },
    ]);
  });

  it('accepts bare LF as CRLF, and normalises it before a literal', () => {
    // Prepare / Act
    const events = frame('a1 NOOP\na2 LOGIN {2}\nab {2+}\r\ncd\na3 NOOP\r\n');

    // Assess
    expect(events).toEqual([
      { type: 'command', bytes: 'a1 NOOP' },
      { type: 'continue', text: 'Ready for literal data' },
      { type: 'command', bytes: 'a2 LOGIN {2}\r\nab {2+}\r\ncd' },
      { type: 'command', bytes: 'a3 NOOP' },
    ]);
  });

  it('keeps CR and LF inside literals as they are', () => {
    // Prepare / Act
    const events = frame('a1 APPEND x {6}\r\n\r\n\n\r\r\n\r\n');

    // Assess
    expect(events).toEqual([
      { type: 'continue', text: 'Ready for literal data' },
      { type: 'command', bytes: 'a1 APPEND x {6}\r\n\r\n\n\r\r\n' },
    ]);
  });

  it('is linear on adversarial input: a long line and many literals one byte at a time', () => {
    // Prepare
    const line = Buffer.from(`a1 SEARCH TEXT ${'x'.repeat(200_000)}\r\n`);
    const literals = Buffer.from('a2 X' + ' {1+}\r\nx'.repeat(20_000) + '\r\n');
    const framer = new CommandFramer({ maxLineBytes: 256 * 1024, maxLiteralBytes: () => 10 });
    const events: FramerEvent[] = [];
    const started = Date.now();

    // Act
    for (const input of [line, literals]) {
      for (let i = 0; i < input.length; i++) events.push(...framer.push(input.subarray(i, i + 1)));
    }

    // Assess: quadratic work here would take minutes.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(events.map((e) => e.type)).toEqual(['command', 'command']);
    expect(events[1]).toMatchObject({ bytes: literals.subarray(0, literals.length - 2) });
  });
});
