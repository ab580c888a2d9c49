import { describe, expect, it } from 'vitest';
import { Pop3Encoder } from '../../lib/pop3/encoder.js';

/** Encodes a message given as chunks; returns the wire text and whether TOP stopped early. */
function encode(chunks: string[], bodyLines?: number): { text: string; done: boolean } {
  const encoder = new Pop3Encoder(bodyLines);
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...encoder.push(Buffer.from(chunk, 'latin1')));
  out.push(...encoder.end());
  return { text: Buffer.concat(out).toString('latin1'), done: encoder.done };
}

const MESSAGE = 'Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n';

describe('POP3 multi-line encoder', () => {
  it('byte-stuffs lines that start with a dot and ends with CRLF.CRLF', () => {
    expect(encode([MESSAGE]).text).toBe(
      'Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n',
    );
    expect(encode(['.\r\n..\r\n']).text).toBe('..\r\n...\r\n.\r\n');
  });

  it('gives the same bytes however the message is split into chunks', () => {
    const raw = 'A: 1\n\r\n.x\n.\r\n..y\rz\r\nend';
    const whole = encode([raw]).text;
    for (let a = 0; a <= raw.length; a++) {
      for (let b = a; b <= raw.length; b += 3) {
        expect(encode([raw.slice(0, a), raw.slice(a, b), raw.slice(b)]).text).toBe(whole);
      }
    }
    expect(whole).toBe('A: 1\r\n\r\n..x\r\n..\r\n...y\rz\r\nend\r\n.\r\n');
  });

  it('adds the CRLF a message without a final line end lacks, and answers an empty message with "."', () => {
    expect(encode(['Subject: x\r\n\r\nno end']).text).toBe('Subject: x\r\n\r\nno end\r\n.\r\n');
    expect(encode([]).text).toBe('.\r\n');
  });

  it('TOP: the header, the empty line and n body lines, then stops reading', () => {
    expect(encode([MESSAGE], 0)).toEqual({ text: 'Subject: x\r\nFrom: a@b\r\n\r\n.\r\n', done: true });
    expect(encode([MESSAGE], 2)).toEqual({
      text: 'Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..line 2\r\n.\r\n',
      done: true,
    });
    // More lines than the body has: the whole message.
    expect(encode([MESSAGE], 50)).toEqual({ text: encode([MESSAGE]).text, done: false });
    // A header split over chunks, the empty line in a chunk of its own.
    expect(encode(['Subject: x\r', '\n', '\r\n', 'b1\r\nb2\r\n'], 1).text).toBe(
      'Subject: x\r\n\r\nb1\r\n.\r\n',
    );
  });

  it('TOP of a message with no body sends the whole header', () => {
    expect(encode(['Subject: only a header\r\n'], 3).text).toBe('Subject: only a header\r\n.\r\n');
  });
});
