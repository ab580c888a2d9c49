import { describe, expect, it } from 'vitest';
import { parseAddressList, parseMimeTree } from '../../lib/mail/index.js';
import type { EnvelopeAddress } from '../../lib/mail/types.js';
import { bytes, crlf, rawMessage } from './fixtures.js';

const addr = (
  name: string | null,
  mailbox: string | null,
  host: string | null,
  adl: string | null = null,
): EnvelopeAddress => ({
  name,
  adl,
  mailbox,
  host,
});
const GROUP_END = addr(null, null, null);

describe('parseAddressList', () => {
  it('parses groups into start and end markers (RFC 3501 §7.4.2)', () => {
    // Prepare
    const value = 'undisclosed-recipients:;, Team: a@example.net, "B" <b@example.net>; c@example.net';

    // Act
    const list = parseAddressList(value);

    // Assess
    expect(list).toEqual([
      addr(null, 'undisclosed-recipients', null),
      GROUP_END,
      addr(null, 'Team', null),
      addr(null, 'a', 'example.net'),
      addr('B', 'b', 'example.net'),
      GROUP_END,
      addr(null, 'c', 'example.net'),
    ]);
  });

  it('unquotes display names and keeps quoted local parts quoted', () => {
    // Prepare
    const value = '"Doe, John \\"JD\\"" <"john doe"@example.com>, Jane   Q. Public <jane.q@example.com>';

    // Act
    const list = parseAddressList(value);

    // Assess
    expect(list).toEqual([
      addr('Doe, John "JD"', '"john doe"', 'example.com'),
      addr('Jane Q. Public', 'jane.q', 'example.com'),
    ]);
  });

  it('keeps RFC 2047 encoded words as they are', () => {
    // Prepare
    const value = '=?utf-8?B?0JjQstCw0L0=?= =?koi8-r?Q?=F0=C5=D4=D2=CF=D7?= <ivan@example.ru>';

    // Act
    const list = parseAddressList(value);

    // Assess
    expect(list).toEqual([
      addr('=?utf-8?B?0JjQstCw0L0=?= =?koi8-r?Q?=F0=C5=D4=D2=CF=D7?=', 'ivan', 'example.ru'),
    ]);
  });

  it('takes a comment as the name when there is no phrase, and drops comments elsewhere', () => {
    // Prepare
    const value = 'john@example.com (John Smith), (lead) Mary <mary (at home) @ example.com>';

    // Act
    const list = parseAddressList(value);

    // Assess
    expect(list).toEqual([addr('John Smith', 'john', 'example.com'), addr('Mary', 'mary', 'example.com')]);
  });

  it('keeps a missing host as "" (NIL host would mean a group) and a source route as adl', () => {
    // Prepare
    const value = 'root, <@relay.example,@gw.example:user@example.org>, [literal]@x, user@[192.0.2.1]';

    // Act
    const list = parseAddressList(value);

    // Assess
    expect(list).toEqual([
      addr(null, 'root', ''),
      addr(null, 'user', 'example.org', '@relay.example,@gw.example'),
      addr(null, '[literal]', 'x'),
      addr(null, 'user', '[192.0.2.1]'),
    ]);
  });

  it('returns null for nothing and survives broken syntax', () => {
    // Prepare
    const broken = ['"unterminated <a@b', 'Group: a@b', '<a@b', '(((', ';;;,,,', '@', 'a@b>c@d', '<>'];

    // Act
    const results = broken.map((v) => parseAddressList(v));

    // Assess
    expect(parseAddressList('')).toBeNull();
    expect(parseAddressList('  ,  ')).toBeNull();
    expect(results[1]).toEqual([addr(null, 'Group', null), addr(null, 'a', 'b'), GROUP_END]);
    expect(results[2]).toEqual([addr(null, 'a', 'b')]);
    for (const r of results) {
      if (r === null) continue;
      for (const a of r) expect(Object.keys(a).sort()).toEqual(['adl', 'host', 'mailbox', 'name']);
    }
  });
});

describe('ENVELOPE', () => {
  it('holds raw unfolded values, defaults Sender and Reply-To to From', () => {
    // Prepare
    const raw = Buffer.from(
      crlf(
        'Date: Mon, 1 Jan 2024 10:00:00 +0300',
        'Subject: =?utf-8?B?0J/RgNC40LLQtdGC?=',
        ' continued',
        'From: =?utf-8?Q?=D0=98=D0=B2=D0=B0=D0=BD?= <ivan@example.ru>',
        'To: a@example.net',
        'To: b@example.net',
        'Cc: Friends:;',
        'Bcc: hidden@example.net',
        'Message-ID: <id-1@example.ru>',
        'In-Reply-To: <id-0@example.net>',
        '',
        'body',
      ),
    );

    // Act
    const { envelope } = parseMimeTree(raw).structure;

    // Assess
    const from = [addr('=?utf-8?Q?=D0=98=D0=B2=D0=B0=D0=BD?=', 'ivan', 'example.ru')];
    expect(envelope).toEqual({
      date: 'Mon, 1 Jan 2024 10:00:00 +0300',
      subject: '=?utf-8?B?0J/RgNC40LLQtdGC?= continued',
      from,
      sender: from,
      replyTo: from,
      to: [addr(null, 'a', 'example.net'), addr(null, 'b', 'example.net')],
      cc: [addr(null, 'Friends', null), GROUP_END],
      bcc: [addr(null, 'hidden', 'example.net')],
      inReplyTo: '<id-0@example.net>',
      messageId: '<id-1@example.ru>',
    });
  });

  it('keeps an explicit Sender and Reply-To, and gives NIL for absent fields', () => {
    // Prepare
    const raw = Buffer.from(
      crlf('From: a@example.net', 'Sender: s@example.net', 'Reply-To: r@example.net', '', ''),
    );

    // Act
    const { envelope } = parseMimeTree(raw).structure;

    // Assess
    expect(envelope.sender).toEqual([addr(null, 's', 'example.net')]);
    expect(envelope.replyTo).toEqual([addr(null, 'r', 'example.net')]);
    expect([envelope.date, envelope.subject, envelope.to, envelope.messageId]).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });

  it('reads raw UTF-8 headers (SMTPUTF8) as UTF-8', () => {
    // Prepare
    const raw = rawMessage('From: ', Buffer.from('Иван <иван@пример.рф>\r\nSubject: Привет\r\n\r\n', 'utf8'));

    // Act
    const { envelope } = parseMimeTree(raw).structure;

    // Assess
    expect(envelope.subject).toBe('Привет');
    expect(envelope.from).toEqual([addr('Иван', 'иван', 'пример.рф')]);
  });

  it('reads raw non-UTF-8 header octets in the charset the message declares', () => {
    // Prepare
    const raw = rawMessage(
      'Subject: ',
      bytes('Отчёт', 'windows-1251'),
      '\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n',
      bytes('тело', 'windows-1251'),
    );

    // Act
    const tree = parseMimeTree(raw);

    // Assess
    expect(tree.fallbackCharset).toBe('windows-1251');
    expect(tree.structure.envelope.subject).toBe('Отчёт');
  });
});
