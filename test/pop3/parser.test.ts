import { describe, expect, it } from 'vitest';
import { LineReader, parseCommand } from '../../lib/pop3/parser.js';
import { Pop3ParseError } from '../../lib/pop3/errors.js';

function lines(reader: LineReader): string[] {
  const out: string[] = [];
  for (let event = reader.next(); event; event = reader.next()) {
    out.push(event.type === 'line' ? event.line.toString('latin1') : '<too-long>');
  }
  return out;
}

describe('POP3 line reader', () => {
  it('splits at CRLF and at a bare LF, across chunk boundaries', () => {
    const reader = new LineReader();
    reader.push(Buffer.from('US'));
    expect(lines(reader)).toEqual([]);
    reader.push(Buffer.from('ER a\r'));
    expect(lines(reader)).toEqual([]);
    reader.push(Buffer.from('\nPASS b\nSTAT\r\nNO'));
    expect(lines(reader)).toEqual(['USER a', 'PASS b', 'STAT']);
    reader.push(Buffer.from('OP\r\n'));
    expect(lines(reader)).toEqual(['NOOP']);
  });

  it('reports an over-long line once, skips it to its end, and reads on', () => {
    const reader = new LineReader(16);
    reader.push(Buffer.from('X'.repeat(40)));
    expect(lines(reader)).toEqual(['<too-long>']);
    reader.push(Buffer.from('Y'.repeat(40)));
    expect(lines(reader)).toEqual([]);
    reader.push(Buffer.from('Z\r\nSTAT\r\n'));
    expect(lines(reader)).toEqual(['STAT']);
    // A long line that arrives whole is refused as well.
    reader.push(Buffer.from(`${'W'.repeat(30)}\r\nNOOP\r\n`));
    expect(lines(reader)).toEqual(['<too-long>', 'NOOP']);
  });

  it('forgets buffered input on clear (nothing sent before STLS counts)', () => {
    const reader = new LineReader();
    reader.push(Buffer.from('USER injected\r\nPASS x'));
    reader.clear();
    reader.push(Buffer.from('CAPA\r\n'));
    expect(lines(reader)).toEqual(['CAPA']);
  });
});

describe('POP3 command parser', () => {
  it('upper-cases the keyword and splits the arguments', () => {
    expect(parseCommand(Buffer.from('retr 3'))).toEqual({ name: 'RETR', args: ['3'], rest: '3' });
    expect(parseCommand(Buffer.from('TOP 1  10'))).toEqual({ name: 'TOP', args: ['1', '10'], rest: '1  10' });
    expect(parseCommand(Buffer.from('STAT'))).toEqual({ name: 'STAT', args: [], rest: '' });
  });

  it('keeps the rest of the line whole, for PASS with spaces and UTF-8', () => {
    const parsed = parseCommand(Buffer.from('PASS  correct horse ключ'));
    expect(parsed.rest).toBe(' correct horse ключ');
  });

  it('refuses NUL, control bytes, empty lines and keywords that are not words', () => {
    for (const bad of ['', 'ST\0AT', 'NOOP\x07', '123', 'RE-TR 1', ' STAT', 'A'.repeat(17)]) {
      expect(() => parseCommand(Buffer.from(bad, 'latin1'))).toThrow(Pop3ParseError);
    }
  });
});
