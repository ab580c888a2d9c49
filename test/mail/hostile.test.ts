import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_MIME_DEPTH, MAX_MIME_PARTS, parseMessage } from '../../lib/mail/index.js';
import type { BodyPart } from '../../lib/mail/types.js';
import { bodyOf, compose, crlf, offsetProblems, rawMessage } from './fixtures.js';

/** Parses and checks the invariants every stored structure must keep, whatever the input. */
async function parseChecked(raw: Buffer) {
  const parsed = await parseMessage(raw);
  expect(parsed.structure.size).toBe(raw.length);
  expect(offsetProblems(parsed.structure.body, 0, raw.length)).toEqual([]);
  expect(() => JSON.stringify(parsed)).not.toThrow();
  return parsed;
}

function depthOf(part: BodyPart): number {
  const children = [...(part.parts ?? []), ...(part.message === undefined ? [] : [part.message])];
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('hostile input never throws out of parseMessage', () => {
  it('parses empty input', async () => {
    // Prepare
    const raw = Buffer.alloc(0);

    // Act
    const parsed = await parseChecked(raw);

    // Assess
    expect(parsed.structure.body).toMatchObject({ type: 'text', subtype: 'plain', size: 0, lines: 0 });
    expect(parsed.structure.envelope.subject).toBeNull();
    expect(parsed.summary).toMatchObject({ subject: '', from: '', date: null, attachments: [] });
    expect(parsed.bodyText).toBe('');
  });

  it('replaces NUL in header strings and keeps NUL in bodies byte-exact', async () => {
    // Prepare
    const raw = Buffer.from(
      'Subject: a\u0000b\r\nFrom: x\u0000@example.net\r\n\r\nbody\u0000with nul\r\n',
      'latin1',
    );

    // Act
    const parsed = await parseChecked(raw);

    // Assess
    expect(parsed.structure.envelope.subject).toBe('a\uFFFDb');
    expect(bodyOf(raw, parsed.structure.body)).toBe('body\u0000with nul\r\n');
  });

  it('treats bare CR as data, not as a line break', async () => {
    // Prepare
    const raw = Buffer.from('Subject: one\rFrom: two\r\r\nTo: b@example.net\r\n\r\nline\rstill line\r\n');

    // Act
    const parsed = await parseChecked(raw);

    // Assess
    expect(parsed.structure.envelope.subject).toBe('one\rFrom: two');
    expect(parsed.structure.envelope.to?.[0]?.mailbox).toBe('b');
    expect(parsed.structure.body.lines).toBe(1);
  });

  it('parses 100 KB header and body lines, and a 100 KB boundary', async () => {
    // Prepare
    const long = 'x'.repeat(100_000);
    const raw = Buffer.from(
      crlf(
        `Subject: ${long}`,
        `X-Folded: ${long}`,
        ` ${long}`,
        `Content-Type: multipart/mixed; boundary="${long.slice(0, 999)}"`,
        '',
        `--${long.slice(0, 999)}`,
        '',
        long,
        `--${long.slice(0, 999)}--`,
        long,
      ),
    );
    const hugeBoundary = Buffer.from(
      crlf(`Content-Type: multipart/mixed; boundary="${long}"`, '', `--${long}`, '', 'x'),
    );

    // Act
    const parsed = await parseChecked(raw);
    const other = await parseChecked(hugeBoundary);

    // Assess
    expect(parsed.structure.envelope.subject).toHaveLength(100_000);
    expect(parsed.structure.body.parts?.map((p) => p.size)).toEqual([100_000]);
    expect(other.structure.body.type).toBe('text'); // over MAX_BOUNDARY_LENGTH: invalid multipart
  });

  it('parses unterminated multiparts, quotes, comments and encoded words', async () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'From: "unterminated <a@example.net',
        'To: (comment never closed <b@example.net>',
        'Subject: =?utf-8?B?broken',
        'Content-Type: multipart/mixed; boundary="b',
        '',
        '--b',
        'Content-Type: multipart/alternative; boundary=c (comment never closed',
        '',
        '--c',
        'Content-Type: text/plain; charset="utf-8',
        '',
        'cut off here',
      ),
    );

    // Act
    const parsed = await parseChecked(raw);

    // Assess
    expect(parsed.structure.body.parts?.[0]?.parts?.[0]?.params).toEqual([['charset', 'utf-8']]);
    expect(bodyOf(raw, parsed.structure.body.parts?.[0]?.parts?.[0] as BodyPart)).toBe('cut off here');
    expect(parsed.bodyText).toContain('cut off here');
  });

  it('falls back for unknown and unsafe charsets', async () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Subject: =?x-no-such-charset?B?SGVsbG8=?= =?utf-7?Q?+ADw-script+AD4-?=',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain; charset=x-no-such-charset',
        '',
        'plain ascii',
        '--b',
        'Content-Type: text/plain; charset=utf-7',
        '',
        '+ADw-script+AD4-',
        '--b--',
      ),
    );

    // Act
    const parsed = await parseChecked(raw);

    // Assess
    expect(parsed.summary.subject).toContain('Hello');
    expect(parsed.summary.subject).not.toContain('<script>');
    expect(parsed.bodyText).toContain('plain ascii');
    expect(parsed.bodyText).not.toContain('<script>');
  });

  it('caps nesting depth: deeper multiparts and messages become opaque parts', async () => {
    // Prepare
    const levels = 1_000;
    let multipart = '';
    for (let i = 0; i < levels; i++)
      multipart += `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`;
    multipart += '\r\ndeep\r\n';
    const messages = 'Content-Type: message/rfc822\r\n\r\n'.repeat(levels) + 'Subject: deep\r\n\r\nbody';

    // Act
    const a = await parseChecked(Buffer.from(multipart));
    const b = await parseChecked(Buffer.from(messages));

    // Assess
    expect(depthOf(a.structure.body)).toBe(MAX_MIME_DEPTH + 1);
    expect(depthOf(b.structure.body)).toBe(MAX_MIME_DEPTH + 1);
    let opaque: BodyPart = a.structure.body;
    while (opaque.parts?.[0] !== undefined) opaque = opaque.parts[0];
    expect([opaque.type, opaque.subtype]).toEqual(['application', 'octet-stream']);
  });

  it('caps the number of parts', async () => {
    // Prepare
    const raw = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\nx\r\n'.repeat(MAX_MIME_PARTS * 2),
    );

    // Act
    const parsed = await parseChecked(raw);

    // Assess
    expect(parsed.structure.body.parts?.length).toBe(MAX_MIME_PARTS - 1);
  });

  it('survives random corruption of real messages', async () => {
    // Prepare
    const base = [
      await compose({
        from: 'Иван <ivan@example.ru>',
        to: 'b@example.net',
        subject: 'Тест',
        text: 'текст',
        html: '<p>текст</p>',
        attachments: [
          { filename: 'отчёт.pdf', content: randomBytes(300) },
          { filename: 'x.eml', content: 'Subject: x\r\n\r\ny', contentType: 'message/rfc822' },
        ],
      }),
    ];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const specials = ['\r', '\n', '\r\n', '\u0000', '-', '"', '(', ';', '=', ':', '<', '\u00ff', '--'];

    // Act
    for (let round = 0; round < 150; round++) {
      const source = base[round % base.length] as Buffer;
      const text = source.toString('latin1');
      let mutated = text;
      for (let k = 0; k < 1 + random(8); k++) {
        const at = random(mutated.length);
        const action = random(3);
        if (action === 0) mutated = mutated.slice(0, at) + mutated.slice(at + 1 + random(40));
        else if (action === 1)
          mutated = mutated.slice(0, at) + (specials[random(specials.length)] ?? '') + mutated.slice(at);
        else mutated = mutated.slice(0, at);
      }

      // Assess (each round)
      await parseChecked(rawMessage(mutated));
    }
  });
});

describe('performance', () => {
  it('parses a 40 MB message with one base64 attachment in linear time', async () => {
    // Prepare
    const base64 = randomBytes(30 * 1024 * 1024)
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(
      crlf(
        'From: a@example.net',
        'Subject: big',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'see attachment',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename=big.bin',
        '',
        base64,
        '--b--',
        '',
      ),
    );

    // Act
    const started = performance.now();
    const parsed = await parseMessage(raw);
    const elapsed = performance.now() - started;

    // Assess
    expect(raw.length).toBeGreaterThan(40_000_000);
    expect(parsed.summary.attachments).toEqual([
      { filename: 'big.bin', contentType: 'application/octet-stream', size: 30 * 1024 * 1024, part: '2' },
    ]);
    expect(parsed.bodyText).toBe('see attachment');
    expect(elapsed).toBeLessThan(10_000);
  });

  it('parses 20 MB of lines that look like boundaries without quadratic cost', async () => {
    // Prepare
    const raw = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n' +
        '--bx not a boundary\r\n'.repeat(1_000_000) +
        '--b--\r\n',
    );

    // Act
    const started = performance.now();
    const parsed = await parseMessage(raw);
    const elapsed = performance.now() - started;

    // Assess
    expect(parsed.structure.body.parts?.[0]?.lines).toBe(1_000_000);
    expect(elapsed).toBeLessThan(10_000);
  });
});
