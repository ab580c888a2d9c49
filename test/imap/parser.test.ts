import { describe, expect, it } from 'vitest';
import { ImapParseError, parseCommand, readCommandHead } from '../../lib/imap/parser.js';
import { MAX_COMMAND_ARGS, MAX_NESTING_DEPTH } from '../../lib/imap/limits.js';
import type { ImapArg, ImapAtom, ImapString } from '../../lib/imap/types.js';

const atom = (value: string, extra: Partial<ImapAtom> = {}): ImapAtom => ({ type: 'atom', value, ...extra });
const str = (value: string | Buffer, literal = false): ImapString => ({
  type: 'string',
  value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
  literal,
});
const list = (...items: ImapArg[]): ImapArg => ({ type: 'list', items });

function parse(text: string | Buffer) {
  return parseCommand(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}

/** The ImapParseError a command throws (fails the test when it parses or throws anything else). */
function parseError(text: string | Buffer): ImapParseError {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ImapParseError);
    return err as ImapParseError;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text.toString())}`);
}

describe('parseCommand: tag and name', () => {
  it('reads the tag, upper-cases the name, and takes no arguments', () => {
    // Prepare / Act
    const command = parse('a1 noop');

    // Assess
    expect(command).toEqual({ tag: 'a1', name: 'NOOP', args: [] });
  });

  it('allows "]" in a tag but not "+", "*" or other atom-specials', () => {
    // Prepare / Act
    const ok = parse('a]1 NOOP');
    const plus = parseError('+ NOOP');
    const star = parseError('* NOOP');
    const brace = parseError('a{1 NOOP');

    // Assess
    expect(ok.tag).toBe('a]1');
    for (const err of [plus, star, brace]) {
      expect(err.tag).toBeNull();
      expect(err.code).toBe('IMAP_PARSE');
    }
    expect(brace.message).toBe('Invalid character "{" in tag');
  });

  it('names a missing command, with the tag', () => {
    // Prepare / Act
    const missing = parseError('a1');
    const spaces = parseError('a1   ');
    const empty = parseError('');

    // Assess
    expect(missing).toMatchObject({ tag: 'a1', message: 'Missing command name' });
    expect(spaces).toMatchObject({ tag: 'a1', message: 'Missing command name' });
    expect(empty).toMatchObject({ tag: null, message: 'Empty command line' });
  });

  it('keeps the UID sub-command as the first argument, upper-cased', () => {
    // Prepare / Act
    const command = parse('A1 uid fetch 1:* (FLAGS) (CHANGEDSINCE 12)');

    // Assess
    expect(command).toEqual({
      tag: 'A1',
      name: 'UID',
      args: [atom('FETCH'), atom('1:*'), list(atom('FLAGS')), list(atom('CHANGEDSINCE'), atom('12'))],
    });
    expect(parseError('A1 UID')).toMatchObject({ tag: 'A1', message: 'UID needs a command name' });
    expect(parseError('A1 UID "FETCH"')).toMatchObject({ tag: 'A1', message: 'UID needs a command name' });
  });

  it('is lenient about several spaces between and after arguments', () => {
    // Prepare / Act
    const command = parse('a1  FETCH   1  ( FLAGS  UID )  ');

    // Assess
    expect(command).toEqual({
      tag: 'a1',
      name: 'FETCH',
      args: [atom('1'), list(atom('FLAGS'), atom('UID'))],
    });
  });
});

describe('parseCommand: atoms', () => {
  it('reads flags, wildcards, sequence sets, $ and NIL as atoms', () => {
    // Prepare / Act
    const command = parse('a1 X \\Seen \\* $Forwarded 1:*,3 $ % * NIL [Gmail]/Sent');

    // Assess
    expect(command.args).toEqual(
      ['\\Seen', '\\*', '$Forwarded', '1:*,3', '$', '%', '*', 'NIL', '[Gmail]/Sent'].map((v) => atom(v)),
    );
  });

  it('refuses 8-bit bytes, NUL, control characters, braces and quotes inside an atom', () => {
    // Prepare / Act / Assess
    expect(parseError(Buffer.from('a1 SELECT Привет'))).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('8-bit'),
    });
    expect(parseError(Buffer.from('a1 SELECT in\0box'))).toMatchObject({
      tag: 'a1',
      message: 'NUL in command',
    });
    expect(parseError('a1 SELECT in\tbox')).toMatchObject({
      tag: 'a1',
      message: 'Control character 0x09 in an atom',
    });
    expect(parseError('a1 LOGIN user{5}')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('"{"'),
    });
    expect(parseError('a1 LOGIN us"er"')).toMatchObject({
      tag: 'a1',
      message: 'Unexpected quote in an atom',
    });
    expect(parseError('a1 LOGIN a\r\nb')).toMatchObject({ tag: 'a1', message: 'Unexpected line break' });
  });
});

describe('parseCommand: strings', () => {
  it('reads quoted strings with \\\\ and \\" escapes', () => {
    // Prepare / Act
    const command = parse('a1 LOGIN "fred" "a\\\\b\\"c" ""');

    // Assess
    expect(command.args).toEqual([str('fred'), str('a\\b"c'), str('')]);
  });

  it('refuses other escapes, CR, LF, NUL and a missing closing quote', () => {
    // Prepare / Act / Assess
    expect(parseError('a1 LOGIN "a\\nb" x')).toMatchObject({
      tag: 'a1',
      message: 'Invalid escape \\n in quoted string',
    });
    expect(parseError('a1 LOGIN "a\rb" x')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Line break'),
    });
    expect(parseError('a1 LOGIN "a\nb" x')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Line break'),
    });
    expect(parseError(Buffer.from('a1 LOGIN "a\0b" x'))).toMatchObject({
      tag: 'a1',
      message: 'NUL in quoted string',
    });
    expect(parseError('a1 LOGIN "fred')).toMatchObject({ tag: 'a1', message: 'Unterminated quoted string' });
    expect(parseError('a1 LOGIN "fred\\')).toMatchObject({
      tag: 'a1',
      message: 'Unterminated quoted string',
    });
    expect(parseError('a1 LOGIN "fred"x')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Expected a space'),
    });
  });

  it('keeps UTF-8 in quoted strings as bytes (UTF8=ACCEPT, RFC 6855)', () => {
    // Prepare / Act
    const command = parse('a1 SELECT "Входящие/Čeština"');

    // Assess
    expect(command.args).toEqual([str('Входящие/Čeština')]);
  });

  it('reads the RFC 3501 §6.2.3 LOGIN with literals', () => {
    // Prepare / Act
    const command = parse('a001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man');

    // Assess
    expect(command).toEqual({
      tag: 'a001',
      name: 'LOGIN',
      args: [str('FRED FOOBAR', true), str('fat man', true)],
    });
  });

  it('reads non-synchronizing literals, literal8 with NUL, and empty literals', () => {
    // Prepare / Act
    const command = parse(Buffer.from('a1 X {3+}\r\nabc ~{3}\r\n\0\r\n {0}\r\n'));

    // Assess
    expect(command.args).toEqual([str('abc', true), str(Buffer.from([0, 13, 10]), true), str('', true)]);
  });

  it('accepts a bare LF after a literal size', () => {
    // Prepare / Act
    const command = parse('a1 LOGIN {2}\nab x');

    // Assess
    expect(command.args).toEqual([str('ab', true), atom('x')]);
  });

  it('refuses NUL in a plain literal, short literals, huge sizes and bad markers', () => {
    // Prepare / Act / Assess
    expect(parseError(Buffer.from('a1 LOGIN {3}\r\na\0b'))).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('NUL in literal'),
    });
    expect(parseError('a1 LOGIN {10}\r\nabc')).toMatchObject({
      tag: 'a1',
      message: 'Literal is shorter than its announced size',
    });
    expect(parseError('a1 LOGIN {99999999999999999999}\r\nabc')).toMatchObject({
      tag: 'a1',
      message: 'Invalid literal size: number too large',
    });
    expect(parseError('a1 LOGIN {4294967296}\r\nabc')).toMatchObject({
      tag: 'a1',
      message: 'Invalid literal size: number too large',
    });
    expect(parseError('a1 LOGIN {}\r\n')).toMatchObject({
      tag: 'a1',
      message: 'Invalid literal size: expected a number',
    });
    expect(parseError('a1 LOGIN {3x}\r\nabc')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('"}"'),
    });
    expect(parseError('a1 LOGIN {3} abc')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('end the line'),
    });
  });
});

describe('parseCommand: lists', () => {
  it('reads the RFC 3501 §6.4.4 SEARCH with nested OR/NOT lists and a charset literal', () => {
    // Prepare / Act
    const nested = parse('A282 SEARCH OR (FLAGGED SINCE 1-Feb-1994) NOT (OR FROM "Smith" TO "smith")');
    const charset = parse('A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX');

    // Assess
    expect(nested.args).toEqual([
      atom('OR'),
      list(atom('FLAGGED'), atom('SINCE'), atom('1-Feb-1994')),
      atom('NOT'),
      list(atom('OR'), atom('FROM'), str('Smith'), atom('TO'), str('smith')),
    ]);
    expect(charset.args).toEqual([atom('CHARSET'), atom('UTF-8'), atom('TEXT'), str('XXXXXX', true)]);
  });

  it('reads the RFC 3501 §6.3.11 APPEND with a flag list, a date string and a literal', () => {
    // Prepare
    const message =
      'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n';
    const input = `A003 APPEND saved-messages (\\Seen) "07-Feb-1994 21:52:25 -0800" {${message.length}}\r\n${message}`;

    // Act
    const command = parse(input);

    // Assess
    expect(command).toEqual({
      tag: 'A003',
      name: 'APPEND',
      args: [
        atom('saved-messages'),
        list(atom('\\Seen')),
        str('07-Feb-1994 21:52:25 -0800'),
        str(message, true),
      ],
    });
  });

  it('reads STORE +FLAGS.SILENT (\\Deleted), LIST "" "%" and empty lists', () => {
    // Prepare / Act
    const store = parse('A003 STORE 2:4 +FLAGS.SILENT (\\Deleted)');
    const listed = parse('A101 LIST "" "%"');
    const empty = parse('A4 STORE 1 FLAGS ()');

    // Assess
    expect(store.args).toEqual([atom('2:4'), atom('+FLAGS.SILENT'), list(atom('\\Deleted'))]);
    expect(listed.args).toEqual([str(''), str('%')]);
    expect(empty.args).toEqual([atom('1'), atom('FLAGS'), list()]);
  });

  it('refuses unbalanced parentheses and items not separated by spaces', () => {
    // Prepare / Act / Assess
    expect(parseError('a1 FETCH 1 (FLAGS')).toMatchObject({
      tag: 'a1',
      message: 'Unterminated list (missing ")")',
    });
    expect(parseError('a1 FETCH 1 (FLAGS))')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Expected a space'),
    });
    expect(parseError('a1 FETCH 1 )')).toMatchObject({ tag: 'a1', message: 'Unexpected ")"' });
    expect(parseError('a1 SEARCH ("x""y")')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Expected a space or ")"'),
    });
    expect(parseError('a1 STORE 1 FLAGS(\\Seen)')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Expected a space'),
    });
  });

  it(`allows ${MAX_NESTING_DEPTH} levels of nesting and refuses one more`, () => {
    // Prepare
    const nest = (depth: number) => `a1 SEARCH ${'('.repeat(depth)}ALL${')'.repeat(depth)}`;

    // Act
    const deepest = parse(nest(MAX_NESTING_DEPTH));
    const tooDeep = parseError(nest(MAX_NESTING_DEPTH + 1));
    const hostile = parseError(nest(100_000));

    // Assess
    let arg = deepest.args[0];
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) arg = arg?.type === 'list' ? arg.items[0] : undefined;
    expect(arg).toEqual(atom('ALL'));
    expect(tooDeep).toMatchObject({ tag: 'a1', message: expect.stringContaining('nested too deeply') });
    expect(hostile.tag).toBe('a1');
  });

  it(`refuses more than ${MAX_COMMAND_ARGS} arguments`, () => {
    // Prepare / Act
    const many = parseError(`a1 SEARCH (${'1 '.repeat(MAX_COMMAND_ARGS)})`);

    // Assess
    expect(many).toMatchObject({ tag: 'a1', message: expect.stringContaining('Too many arguments') });
  });
});

describe('parseCommand: FETCH attributes', () => {
  it('reads sections and partials, keeping the section apart', () => {
    // Prepare / Act
    const command = parse(
      'A654 FETCH 2:4 (FLAGS BODY[] BODY.PEEK[1.2.HEADER.FIELDS (From "To")]<0.100> BINARY[1] BINARY.SIZE[1] ' +
        'BODY[HEADER.FIELDS.NOT (X)] RFC822.HEADER body[text]<5>)',
    );

    // Assess
    expect(command.args).toEqual([
      atom('2:4'),
      list(
        atom('FLAGS'),
        atom('BODY', { section: [] }),
        atom('BODY.PEEK', {
          section: [atom('1.2.HEADER.FIELDS'), list(atom('From'), str('To'))],
          partial: [0, 100],
        }),
        atom('BINARY', { section: [atom('1')] }),
        atom('BINARY.SIZE', { section: [atom('1')] }),
        atom('BODY', { section: [atom('HEADER.FIELDS.NOT'), list(atom('X'))] }),
        atom('RFC822.HEADER'),
        atom('body', { section: [atom('text')], partial: [5] }),
      ),
    ]);
  });

  it('reads a single attribute without parentheses, a literal in a section, and UID FETCH', () => {
    // Prepare / Act
    const single = parse('a1 FETCH 1 BODY.PEEK[HEADER]');
    const literal = parse('a2 FETCH 1 (BODY[HEADER.FIELDS ({4}\r\nDate Subject)])');
    const uid = parse('a3 UID FETCH 1:* (BODY.PEEK[TEXT]<0.10>)');

    // Assess
    expect(single.args).toEqual([atom('1'), atom('BODY.PEEK', { section: [atom('HEADER')] })]);
    expect(literal.args[1]).toEqual(
      list(atom('BODY', { section: [atom('HEADER.FIELDS'), list(str('Date', true), atom('Subject'))] })),
    );
    expect(uid.args[2]).toEqual(list(atom('BODY.PEEK', { section: [atom('TEXT')], partial: [0, 10] })));
  });

  it('reads brackets as atom characters outside FETCH', () => {
    // Prepare / Act
    const select = parse('a1 SELECT BODY[x]');

    // Assess
    expect(select.args).toEqual([atom('BODY[x]')]);
  });

  it('refuses broken sections and partials', () => {
    // Prepare / Act / Assess
    expect(parseError('a1 FETCH 1 BODY[HEADER')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('missing "]"'),
    });
    expect(parseError('a1 FETCH 1 BODY[HEADER]<a>')).toMatchObject({
      tag: 'a1',
      message: 'Invalid partial start: expected a number',
    });
    expect(parseError('a1 FETCH 1 BODY[]<0.99999999999>')).toMatchObject({
      tag: 'a1',
      message: 'Invalid partial length: number too large',
    });
    expect(parseError('a1 FETCH 1 BODY[]<0.10')).toMatchObject({
      tag: 'a1',
      message: 'Invalid partial of BODY: expected ">"',
    });
    expect(parseError('a1 FETCH 1 BODY[]x')).toMatchObject({
      tag: 'a1',
      message: expect.stringContaining('Expected a space'),
    });
    expect(parseError('a1 FETCH 1 (BODY[(X])])')).toMatchObject({ tag: 'a1' });
  });
});

describe('readCommandHead', () => {
  it('reads the tag and the upper-case name from the start of a command', () => {
    // Prepare / Act / Assess
    expect(readCommandHead(Buffer.from('a1 append INBOX {5}'))).toEqual({ tag: 'a1', name: 'APPEND' });
    expect(readCommandHead(Buffer.from('a1 '))).toEqual({ tag: 'a1', name: null });
    expect(readCommandHead(Buffer.from('a1'))).toEqual({ tag: null, name: null });
    expect(readCommandHead(Buffer.from('+ NOOP'))).toEqual({ tag: null, name: null });
  });
});

describe('parseCommand on hostile input', () => {
  /** mulberry32: a small seeded PRNG, so a failure can be replayed. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const PIECES = [
    'a1 ',
    'FETCH ',
    'UID ',
    'SEARCH ',
    '(',
    ')',
    '[',
    ']',
    '<',
    '>',
    '.',
    '{',
    '}',
    '{3}\r\n',
    '{5+}\r\n',
    '~{2}\r\n',
    '"',
    '\\',
    '\\"',
    ' ',
    '  ',
    'BODY',
    'BODY.PEEK[',
    'BINARY.SIZE[',
    'HEADER.FIELDS (',
    '1:*',
    '\\Seen',
    '%',
    '*',
    '\r',
    '\n',
    '\0',
    '\xff',
    'é',
    '99999999999999999999',
    '0',
    '<0.',
    'NIL',
    '+',
    '~',
  ];

  it('throws only ImapParseError, on 2,000 random inputs', () => {
    // Prepare
    const rand = random(0x5eed);
    let parsed = 0;
    let refused = 0;

    for (let i = 0; i < 2000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = Buffer.alloc(Math.floor(rand() * 120));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256);
        // Half of the random ones start like a command, to get past the tag.
        if (i % 4 === 0) input = Buffer.concat([Buffer.from('a1 FETCH '), input]);
      } else {
        const parts: string[] = ['t1 '];
        const n = Math.floor(rand() * 30);
        for (let j = 0; j < n; j++) parts.push(PIECES[Math.floor(rand() * PIECES.length)]!);
        input = Buffer.from(parts.join(''), 'latin1');
      }

      // Act
      try {
        const command = parseCommand(input);
        parsed++;
        // Assess (success): a well-formed command.
        expect(typeof command.tag).toBe('string');
        expect(command.name).toBe(command.name.toUpperCase());
      } catch (err) {
        refused++;
        // Assess (failure): only ever the protocol error, with a tag or null.
        if (!(err instanceof ImapParseError))
          throw new Error(`input ${input.toString('hex')} threw ${String(err)}`, { cause: err });
        expect(err.code).toBe('IMAP_PARSE');
        expect(err.tag === null || typeof err.tag === 'string').toBe(true);
      }
    }
    expect(parsed + refused).toBe(2000);
    expect(parsed).toBeGreaterThan(0);
  });
});
