import { describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { rewriteForForward } from '../../lib/mail/forward-headers.js';

const BODY = 'Body line one.\r\n\r\nFrom the body, not a header.\r\n';

function message(headers: string[], body = BODY): Buffer {
  return Buffer.from([...headers, '', body].join('\r\n'), 'latin1');
}

/** The header block of a rewritten message, as text. */
function headerOf(raw: Buffer): string {
  return raw.toString('latin1', 0, raw.indexOf('\r\n\r\n') + 2);
}

describe('rewriteForForward', () => {
  it('sends as the forwarding address, the author in the name and in Reply-To, the body byte for byte', async () => {
    // Prepare
    const raw = message([
      'Received: from mx.far.test by mail.example.test',
      'DKIM-Signature: v=1; a=rsa-sha256; d=far.test; s=s1;',
      '\th=from:to:subject; b=AAAA',
      '\t BBBB',
      'Return-Path: <bounce@far.test>',
      'From: "Doe, Jane" <jane@far.test>',
      'Sender: list@far.test',
      'To: team@example.test',
      'Subject: Plans',
    ]);

    // Act
    const out = rewriteForForward(raw, 'team@example.test')!;

    // Assess
    expect(headerOf(out)).toBe(
      [
        'Received: from mx.far.test by mail.example.test',
        'From: "Doe, Jane via example.test" <team@example.test>',
        'Reply-To: "Doe, Jane" <jane@far.test>',
        'To: team@example.test',
        'Subject: Plans',
        '',
      ].join('\r\n'),
    );
    expect(out.subarray(out.indexOf('\r\n\r\n') + 4).toString('latin1')).toBe(BODY);
    const parsed = await simpleParser(out);
    expect(parsed.from?.value).toEqual([
      { name: 'Doe, Jane via example.test', address: 'team@example.test' },
    ]);
    expect(parsed.replyTo?.value).toEqual([{ name: 'Doe, Jane', address: 'jane@far.test' }]);
  });

  it('encodes a name that is not ASCII, and keeps a Reply-To the message has', async () => {
    // Prepare: a folded, encoded From and a Reply-To of its own
    const raw = message([
      'From: =?UTF-8?B?0JDQvdC90LAg0JrQsNGA0LXQvdC40L3QsA==?=',
      ' <anna@far.test>',
      'Reply-To: replies@far.test',
      'Subject: Привет'.replace('Привет', '=?UTF-8?B?0J/RgNC40LLQtdGC?='),
    ]);

    // Act
    const out = rewriteForForward(raw, 'sales@example.test')!;

    // Assess
    const parsed = await simpleParser(out);
    expect(parsed.from?.value).toEqual([
      { name: 'Анна Каренина via example.test', address: 'sales@example.test' },
    ]);
    expect(parsed.replyTo?.value).toEqual([{ name: '', address: 'replies@far.test' }]);
    expect(headerOf(out).match(/^Reply-To:/gim)).toHaveLength(1);
    expect(parsed.subject).toBe('Привет');
  });

  it('uses the address when there is no name, and an 8-bit UTF-8 name as it is meant', async () => {
    const plain = (await simpleParser(rewriteForForward(message(['From: bob@far.test']), 'me@example.test')!))
      .from;
    expect(plain?.value[0]).toEqual({ name: 'bob@far.test via example.test', address: 'me@example.test' });

    const raw = Buffer.concat([
      Buffer.from('From: '),
      Buffer.from('Jörg <j@far.test>', 'utf8'),
      Buffer.from('\r\n\r\nx'),
    ]);
    const eight = (await simpleParser(rewriteForForward(raw, 'me@example.test')!)).from;
    expect(eight?.value[0]).toEqual({ name: 'Jörg via example.test', address: 'me@example.test' });
  });

  it('leaves a message whose author is of the forwarding domain alone', () => {
    expect(rewriteForForward(message(['From: Ann <ann@Example.test>']), 'team@example.test')).toBeUndefined();
  });

  it('gives a message without From (or without a header end) one', async () => {
    const none = rewriteForForward(message(['Subject: no author']), 'team@example.test')!;
    expect(headerOf(none)).toBe(
      'Subject: no author\r\nFrom: "unknown sender via example.test" <team@example.test>\r\n',
    );
    const headerOnly = rewriteForForward(Buffer.from('Subject: cut'), 'team@example.test')!;
    expect(headerOnly.toString()).toBe(
      'Subject: cut\r\nFrom: "unknown sender via example.test" <team@example.test>\r\n',
    );
  });
});
