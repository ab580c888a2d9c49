import { describe, expect, it } from 'vitest';
import { countLines, findPart, parseMimeTree, walkParts } from '../../lib/mail/index.js';
import type { BodyPart } from '../../lib/mail/types.js';
import { bodyOf, crlf, mimeOf, offsetProblems } from './fixtures.js';

/**
 * A hand-written message with a multipart/alternative whose boundary has the outer boundary
 * as a prefix, a boundary line with trailing white space, an epilogue inside the inner
 * multipart, a forwarded message/rfc822 with its own multipart, a part with no header at
 * all, a preamble and an epilogue.
 */
const NESTED = crlf(
  'From: Alice <alice@example.net>',
  'To: bob@example.test',
  'Subject: nested',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'This is the preamble.',
  '--outer',
  'Content-Type: multipart/alternative; boundary="outer-alt"',
  '',
  '--outer-alt',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello',
  'World',
  '--outer-alt  \t',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hello</p>',
  '--outer-alt--',
  'epilogue of alt',
  '--outer',
  'Content-Type: message/rfc822',
  'Content-Description: forwarded',
  '',
  'From: Carol <carol@example.org>',
  'Subject: inner',
  'Content-Type: multipart/mixed; boundary=inner',
  '',
  '--inner',
  '',
  'Inner text',
  '--inner',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  'AAEC',
  '--inner--',
  '--outer',
  'Content-Type: text/plain',
  '',
  'Last line',
  '--outer--',
  'epilogue',
  '',
);

function part(body: BodyPart, section: string): BodyPart {
  const found = findPart(body, section);
  if (found === null) throw new Error(`no part ${section}`);
  return found;
}

describe('parseMimeTree: byte offsets of a nested message', () => {
  for (const [label, eol] of [
    ['CRLF', '\r\n'],
    ['bare LF', '\n'],
  ] as const) {
    it(`serves BODY[n] and BODY[n.MIME] as exact byte ranges (${label} line ends)`, () => {
      // Prepare
      const raw = Buffer.from(NESTED.replaceAll('\r\n', eol), 'latin1');
      const n = (s: string): string => s.replaceAll('\r\n', eol);

      // Act
      const { structure } = parseMimeTree(raw);
      const body = structure.body;

      // Assess
      expect(structure.size).toBe(raw.length);
      expect(offsetProblems(body, 0, raw.length)).toEqual([]);
      expect(mimeOf(raw, body)).toBe(n(NESTED.slice(0, NESTED.indexOf('\r\n\r\n') + 4)));
      expect(body.type).toBe('multipart');
      expect(body.subtype).toBe('mixed');
      expect(body.parts).toHaveLength(3);

      expect(bodyOf(raw, part(body, '1'))).toBe(
        n(
          crlf(
            '--outer-alt',
            'Content-Type: text/plain; charset=utf-8',
            '',
            'Hello',
            'World',
            '--outer-alt  \t',
            'Content-Type: text/html; charset=utf-8',
            '',
            '<p>Hello</p>',
            '--outer-alt--',
            'epilogue of alt',
          ),
        ),
      );
      expect(mimeOf(raw, part(body, '1'))).toBe(
        n('Content-Type: multipart/alternative; boundary="outer-alt"\r\n\r\n'),
      );
      expect(bodyOf(raw, part(body, '1.1'))).toBe(n('Hello\r\nWorld'));
      expect(mimeOf(raw, part(body, '1.1'))).toBe(n('Content-Type: text/plain; charset=utf-8\r\n\r\n'));
      expect(bodyOf(raw, part(body, '1.2'))).toBe('<p>Hello</p>');

      const forwarded = part(body, '2');
      expect(forwarded.type).toBe('message');
      expect(forwarded.subtype).toBe('rfc822');
      expect(forwarded.description).toBe('forwarded');
      expect(bodyOf(raw, forwarded)).toBe(
        n(
          crlf(
            'From: Carol <carol@example.org>',
            'Subject: inner',
            'Content-Type: multipart/mixed; boundary=inner',
            '',
            '--inner',
            '',
            'Inner text',
            '--inner',
            'Content-Type: application/octet-stream',
            'Content-Transfer-Encoding: base64',
            '',
            'AAEC',
            '--inner--',
          ),
        ),
      );
      expect(forwarded.lines).toBe(13);
      expect(forwarded.envelope?.subject).toBe('inner');
      expect(forwarded.envelope?.from).toEqual([
        { name: 'Carol', adl: null, mailbox: 'carol', host: 'example.org' },
      ]);
      // BODY[2.HEADER] is the enclosed message's header
      expect(mimeOf(raw, forwarded.message as BodyPart)).toBe(
        n(
          'From: Carol <carol@example.org>\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n',
        ),
      );

      const headerless = part(body, '2.1');
      expect(mimeOf(raw, headerless)).toBe(n('\r\n'));
      expect(bodyOf(raw, headerless)).toBe('Inner text');
      expect([headerless.type, headerless.subtype, headerless.params]).toEqual([
        'text',
        'plain',
        [['charset', 'us-ascii']],
      ]);
      expect(bodyOf(raw, part(body, '2.2'))).toBe('AAEC');
      expect(part(body, '2.2').encoding).toBe('base64');

      expect(bodyOf(raw, part(body, '3'))).toBe('Last line');
      expect(part(body, '3').lines).toBe(1);
      expect(part(body, '1.1').lines).toBe(2);
    });
  }

  it('numbers parts as IMAP does and finds them back', () => {
    // Prepare
    const { structure } = parseMimeTree(Buffer.from(NESTED, 'latin1'));
    const seen: string[] = [];

    // Act
    walkParts(structure.body, (p, section) => {
      seen.push(section);
      expect(findPart(structure.body, section)).toBe(p);
    });

    // Assess
    expect(seen).toEqual(['1', '1.1', '1.2', '2', '2.1', '2.2', '3']);
    for (const missing of ['0', '4', '1.3', '3.1', '2.3', '1..1', '', 'TEXT']) {
      expect(findPart(structure.body, missing)).toBeNull();
    }
  });

  it('numbers a single-part message as 1 and the body of a single-part enclosed message as n.1', () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: message/rfc822',
        '',
        'Subject: inner',
        '',
        'inner body',
        '--b--',
        '',
      ),
    );
    const single = Buffer.from('Subject: hi\r\n\r\nbody\r\n');

    // Act
    const nested = parseMimeTree(raw).structure.body;
    const top = parseMimeTree(single).structure.body;

    // Assess
    expect(bodyOf(raw, part(nested, '1.1'))).toBe('inner body');
    expect(part(nested, '1.1')).toBe(part(nested, '1').message);
    expect(findPart(top, '1')).toBe(top);
    expect(findPart(top, '2')).toBeNull();
    expect(bodyOf(single, top)).toBe('body\r\n');
  });
});

describe('parseMimeTree: RFC 2046 boundaries', () => {
  it('tolerates a missing close delimiter: the last part runs to the end', () => {
    // Prepare
    const raw = Buffer.from(
      crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b', '', 'two', ''),
    );

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(body.parts?.map((p) => bodyOf(raw, p))).toEqual(['one', 'two\r\n']);
  });

  it('ends an unterminated inner multipart at the outer boundary', () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Content-Type: multipart/mixed; boundary=abc-1',
        '',
        '--abc-1',
        'Content-Type: multipart/mixed; boundary=abc',
        '',
        '--abc',
        '',
        'inner',
        '--abc-1',
        '',
        'second',
        '--abc-1--',
      ),
    );

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(bodyOf(raw, part(body, '1.1'))).toBe('inner');
    expect(bodyOf(raw, part(body, '2'))).toBe('second');
    expect(body.parts).toHaveLength(2);
  });

  it('does not take a line that merely starts with the boundary for a delimiter', () => {
    // Prepare
    const raw = Buffer.from(
      crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', '--bogus line', 'x --b', '--b--', ''),
    );

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(body.parts?.map((p) => bodyOf(raw, p))).toEqual(['--bogus line\r\nx --b']);
  });

  it('gives a multipart without any part one empty text/plain child', () => {
    // Prepare
    const raw = Buffer.from(crlf('Content-Type: multipart/mixed; boundary=nowhere', '', 'just text', ''));

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(body.type).toBe('multipart');
    expect(body.parts).toHaveLength(1);
    expect(body.parts?.[0]).toMatchObject({
      type: 'text',
      subtype: 'plain',
      size: 0,
      lines: 0,
      bodyStart: raw.length,
    });
  });

  it('treats a multipart without boundary as the RFC 2045 default text/plain', () => {
    // Prepare
    const raw = Buffer.from(crlf('Content-Type: multipart/mixed', '', '--x', 'text', ''));

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect([body.type, body.subtype, body.params, body.parts]).toEqual([
      'text',
      'plain',
      [['charset', 'us-ascii']],
      undefined,
    ]);
    expect(body.lines).toBe(2);
  });

  it('defaults parts of multipart/digest to message/rfc822', () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Content-Type: multipart/digest; boundary=d',
        '',
        '--d',
        '',
        'Subject: first',
        '',
        'one',
        '--d',
        'Content-Type: text/plain',
        '',
        'plain',
        '--d--',
      ),
    );

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(part(body, '1')).toMatchObject({ type: 'message', subtype: 'rfc822' });
    expect(part(body, '1').envelope?.subject).toBe('first');
    expect(bodyOf(raw, part(body, '1.1'))).toBe('one');
    expect(part(body, '2')).toMatchObject({ type: 'text', subtype: 'plain' });
  });
});

describe('parseMimeTree: headers and bodies', () => {
  it('handles a message with a header and no body (no blank line)', () => {
    // Prepare
    const withEol = Buffer.from('Subject: only a header\r\nFrom: a@b.example\r\n');
    const withoutEol = Buffer.from('Subject: only a header');

    // Act
    const a = parseMimeTree(withEol).structure;
    const b = parseMimeTree(withoutEol).structure;

    // Assess
    expect([a.body.bodyStart, a.body.end, a.body.size, a.body.lines]).toEqual([
      withEol.length,
      withEol.length,
      0,
      0,
    ]);
    expect(a.envelope.subject).toBe('only a header');
    expect([b.body.bodyStart, b.body.size]).toEqual([withoutEol.length, 0]);
    expect(b.envelope.subject).toBe('only a header');
  });

  it('unfolds folded headers and separates header and body on LF LF', () => {
    // Prepare
    const raw = Buffer.from(
      'Subject: a folded\n\tsubject\nContent-Type: text/plain;\n charset="koi8-r"\n\nbody',
    );

    // Act
    const { structure } = parseMimeTree(raw);

    // Assess
    expect(structure.envelope.subject).toBe('a folded\tsubject');
    expect(structure.body.params).toEqual([['charset', 'koi8-r']]);
    expect(bodyOf(raw, structure.body)).toBe('body');
  });

  it('reads every Content-* field BODYSTRUCTURE needs', () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Content-Type: Text/HTML; Charset="UTF-8" (comment); format=flowed',
        'Content-Transfer-Encoding: Quoted-Printable (because)',
        'Content-ID: <part1@example.net>',
        'Content-Description: =?utf-8?Q?caf=C3=A9?=',
        'Content-Disposition: INLINE; filename="a \\"quoted\\" name.html"; size=42',
        'Content-Language: en-GB, (comment) ru',
        'Content-Location: http://example.net/a.html',
        'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
        '',
        '<p>hi</p>',
      ),
    );

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(body).toMatchObject({
      type: 'text',
      subtype: 'html',
      params: [
        ['charset', 'UTF-8'],
        ['format', 'flowed'],
      ],
      encoding: 'quoted-printable',
      id: '<part1@example.net>',
      description: '=?utf-8?Q?caf=C3=A9?=',
      disposition: {
        type: 'inline',
        params: [
          ['filename', 'a "quoted" name.html'],
          ['size', '42'],
        ],
      },
      language: ['en-GB', 'ru'],
      location: 'http://example.net/a.html',
      md5: 'Q2hlY2sgSW50ZWdyaXR5IQ==',
      lines: 1,
    });
  });
});

describe('parseMimeTree: broken Content-* fields', () => {
  it('defaults an invalid Content-Type and drops an invalid disposition', () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Content-Type: text; charset=koi8-r',
        'Content-Disposition: ; filename=x.txt',
        'Content-Transfer-Encoding:',
        '',
        'x',
      ),
    );

    // Act
    const body = parseMimeTree(raw).structure.body;

    // Assess
    expect(body).toMatchObject({
      type: 'text',
      subtype: 'plain',
      params: [['charset', 'us-ascii']],
      disposition: null,
      encoding: '7bit',
    });
  });
});

describe('countLines', () => {
  it('counts line breaks, plus a last line without one', () => {
    // Prepare
    const cases: [string, number][] = [
      ['', 0],
      ['a', 1],
      ['a\r\n', 1],
      ['a\r\nb', 2],
      ['a\nb\n', 2],
      ['\r\n\r\n', 2],
      ['a\rb', 1],
    ];

    // Act
    const counted = cases.map(([text]) => countLines(Buffer.from(text), 0, text.length));

    // Assess
    expect(counted).toEqual(cases.map(([, n]) => n));
  });
});
