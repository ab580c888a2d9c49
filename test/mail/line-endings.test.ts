import { describe, expect, it } from 'vitest';
import { CrlfNormalizer, toCrlf } from '../../lib/mail/line-endings.js';

describe('line endings', () => {
  it('makes bare LF CRLF and leaves CRLF and bare CR alone', () => {
    expect(toCrlf(Buffer.from('a\nb\r\nc\rd\n\n')).toString()).toBe('a\r\nb\r\nc\rd\r\n\r\n');
    expect(toCrlf(Buffer.from('\nstart')).toString()).toBe('\r\nstart');
  });

  it('returns the same buffer when there is nothing to change', () => {
    const clean = Buffer.from('a\r\nb\r\n');
    expect(toCrlf(clean)).toBe(clean);
  });

  it('remembers a CR at the end of one chunk when the next starts with LF', () => {
    const n = new CrlfNormalizer();
    const out = [n.push(Buffer.from('a\r')), n.push(Buffer.from('\nb\n')), n.push(Buffer.from('\nc'))];
    expect(Buffer.concat(out).toString()).toBe('a\r\nb\r\n\r\nc');
  });

  it('gives every split of a message the same result as one pass', () => {
    const text = Buffer.from('x\ny\r\n\r\rz\n\r\n.\n');
    const whole = toCrlf(text).toString();
    for (let cut = 0; cut <= text.length; cut++) {
      const n = new CrlfNormalizer();
      const parts = [n.push(text.subarray(0, cut)), n.push(text.subarray(cut))];
      expect(Buffer.concat(parts).toString()).toBe(whole);
    }
  });
});
