import { describe, expect, it } from 'vitest';
import { MAX_BODY_TEXT_BYTES, parseMessage } from '../../lib/mail/index.js';
import { compose, crlf } from './fixtures.js';

describe('summary, headerText and bodyText', () => {
  it('numbers attachments as IMAP does, through nested multiparts, and lists an enclosed message once', async () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'From: a@example.net',
        'Subject: nested attachments',
        'Content-Type: multipart/mixed; boundary=outer',
        '',
        '--outer',
        'Content-Type: multipart/related; boundary=rel',
        '',
        '--rel',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>see <img src="cid:logo"></p>',
        '--rel',
        'Content-Type: image/png',
        'Content-ID: <logo>',
        'Content-Transfer-Encoding: base64',
        '',
        'iVBORw0KGgo=',
        '--rel--',
        '--outer',
        'Content-Type: message/rfc822',
        '',
        'Subject: forwarded',
        'Content-Type: multipart/mixed; boundary=fw',
        '',
        '--fw',
        'Content-Type: application/zip; name=inner.zip',
        '',
        'PK',
        '--fw--',
        '--outer',
        'Content-Type: text/calendar; method=REQUEST',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'BEGIN:VCALENDAR=0D=0AEND:VCALENDAR=',
        '',
        '--outer--',
      ),
    );

    // Act
    const parsed = await parseMessage(raw);

    // Assess
    expect(parsed.summary.attachments).toEqual([
      { filename: null, contentType: 'image/png', size: 8, part: '1.2' },
      {
        filename: null,
        contentType: 'message/rfc822',
        size: parsed.structure.body.parts?.[1]?.size,
        part: '2',
      },
      {
        filename: null,
        contentType: 'text/calendar',
        size: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR'.length,
        part: '3',
      },
    ]);
    expect(parsed.bodyText).toContain('see');
  });

  it('writes one decoded "Name: value" line per header field', async () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Received: from a by b;',
        '\tMon, 1 Jan 2024 10:00:00 +0000',
        'Subject: =?utf-8?B?0J/RgNC40LLQtdGC?= =?utf-8?Q?_=D0=BC=D0=B8=D1=80?=',
        'X-Custom: plain',
        '',
        'body',
      ),
    );

    // Act
    const parsed = await parseMessage(raw);

    // Assess
    expect(parsed.headerText).toBe(
      'Received: from a by b;\tMon, 1 Jan 2024 10:00:00 +0000\r\nSubject: Привет мир\r\nX-Custom: plain\r\n',
    );
    expect(parsed.summary.subject).toBe('Привет мир');
  });

  it('gives null for a missing or unparsable Date, reads obsolete zones and no zone as -0000', async () => {
    // Prepare
    const dates = [
      '',
      'Date: not a date\r\n',
      'Date: 5\r\n',
      'Date: Mon, 1 Jan 2024 10:00:00 +0300 (MSK)\r\n',
      'Date: 1 Jan 24 10:00 MSK\r\n',
      'Date: Mon, 1 Jan 2024 10:00:00\r\n',
      'Date: 1 Jan 2024 10:00:00 EST\r\n',
    ];

    // Act
    const parsed = await Promise.all(
      dates.map((d) => parseMessage(Buffer.from(`${d}Subject: x\r\n\r\nbody`))),
    );

    // Assess
    expect(parsed.map((p) => p.summary.date)).toEqual([
      null,
      null,
      null,
      Date.UTC(2024, 0, 1, 7),
      Date.UTC(2024, 0, 1, 10),
      Date.UTC(2024, 0, 1, 10),
      Date.UTC(2024, 0, 1, 15),
    ]);
  });

  it('bounds bodyText, cutting on a character boundary', async () => {
    // Prepare
    const line = 'Ж'.repeat(99) + '\n';
    const raw = await compose({
      from: 'a@example.net',
      to: 'b@example.net',
      subject: 'big',
      text: line.repeat(8_000),
    });

    // Act
    const parsed = await parseMessage(raw);

    // Assess
    const size = Buffer.byteLength(parsed.bodyText);
    expect(size).toBeLessThanOrEqual(MAX_BODY_TEXT_BYTES);
    expect(size).toBeGreaterThan(MAX_BODY_TEXT_BYTES - 4);
    expect(parsed.bodyText.startsWith(line)).toBe(true);
    expect(parsed.bodyText).not.toContain('\uFFFD');
  });

  it('still decodes text and attachments when mailparser refuses the message (over 1000 parts)', async () => {
    // Prepare
    let text = crlf(
      'Subject: =?utf-8?B?0JzQvdC+0LPQviDRh9Cw0YHRgtC10Lk=?=',
      'From: =?utf-8?B?0JjQstCw0L0=?= <ivan@example.ru>',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain; charset=koi8-r',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '=F0=D2=C9=D7=C5=D4',
      '',
    );
    for (let i = 0; i < 1_200; i++)
      text += `--b\r\nContent-Type: application/octet-stream; name=f${i}.bin\r\n\r\nx\r\n`;
    text += '--b--\r\n';

    // Act
    const parsed = await parseMessage(Buffer.from(text));

    // Assess
    expect(parsed.summary.subject).toBe('Много частей');
    expect(parsed.summary.from).toBe('Иван <ivan@example.ru>');
    expect(parsed.bodyText).toBe('Привет');
    expect(parsed.summary.attachments).toHaveLength(1_000);
    expect(parsed.summary.attachments[999]).toEqual({
      filename: 'f999.bin',
      contentType: 'application/octet-stream',
      size: 1,
      part: '1001',
    });
  });
});
