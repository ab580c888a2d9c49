import { describe, expect, it } from 'vitest';
import {
  expandSequenceSet,
  formatSequenceSet,
  highestExplicitNumber,
  matches,
  parseSequenceSet,
  resolveSequenceSet,
  selectExisting,
  SequenceError,
} from '../../lib/imap/sequence.js';

describe('parseSequenceSet', () => {
  it('parses numbers, ranges, * and comma lists', () => {
    // Act
    const set = parseSequenceSet('1,3:5,7:*,*');

    // Assess
    expect(set).toEqual({
      type: 'ranges',
      ranges: [
        { from: 1, to: 1 },
        { from: 3, to: 5 },
        { from: 7, to: '*' },
        { from: '*', to: '*' },
      ],
    });
  });

  it('keeps a reversed range as written and accepts the largest 32-bit number', () => {
    // Act
    const set = parseSequenceSet('9:2,4294967295');

    // Assess
    expect(set).toEqual({
      type: 'ranges',
      ranges: [
        { from: 9, to: 2 },
        { from: 4294967295, to: 4294967295 },
      ],
    });
  });

  it('represents $ alone as the saved search result', () => {
    // Act
    const set = parseSequenceSet('$');

    // Assess
    expect(set).toEqual({ type: 'saved' });
  });

  it.each([
    ['', 'empty'],
    ['0', 'zero'],
    ['1:0', 'zero in a range'],
    ['1,,2', 'empty element'],
    ['1,', 'trailing comma'],
    [',1', 'leading comma'],
    ['1:', 'open range'],
    [':5', 'open range start'],
    ['1:2:3', 'double range'],
    ['a', 'letters'],
    ['-1', 'sign'],
    ['+1', 'plus'],
    ['1 2', 'space'],
    ['01', 'leading zero'],
    ['4294967296', 'above 2^32-1'],
    ['99999999999999999999', 'huge'],
    ['1.5', 'decimal'],
    ['$,1', '$ in a list'],
    ['$:3', '$ in a range'],
    ['**', 'double star'],
  ])('rejects %j (%s)', (text) => {
    // Act
    const act = () => parseSequenceSet(text);

    // Assess
    expect(act).toThrow(SequenceError);
  });

  it('gives the error a stable code', () => {
    // Act
    let error: unknown;
    try {
      parseSequenceSet('0');
    } catch (err) {
      error = err;
    }

    // Assess
    expect(error).toBeInstanceOf(SequenceError);
    expect((error as SequenceError).code).toBe('INVALID_SEQUENCE_SET');
  });
});

describe('resolveSequenceSet', () => {
  it('replaces * by the largest number in use and accepts ranges in either order', () => {
    // Prepare
    const has = resolveSequenceSet(parseSequenceSet('2:4,*,12:9'), { max: 20 });

    // Act
    const hits = Array.from({ length: 25 }, (_, i) => i + 1).filter(has);

    // Assess
    expect(hits).toEqual([2, 3, 4, 9, 10, 11, 12, 20]);
  });

  it('treats n:* with n above the largest number as the last message (RFC 3501 §6.4.8)', () => {
    // Prepare
    const has = resolveSequenceSet(parseSequenceSet('100:*'), { max: 50 });

    // Act
    const hits = [1, 49, 50, 51, 100].filter(has);

    // Assess
    expect(hits).toEqual([50, 51, 100]);
    expect(selectExisting(parseSequenceSet('100:*'), [10, 20, 50])).toEqual([50]);
  });

  it('matches nothing with * when the mailbox is empty', () => {
    // Prepare
    const has = resolveSequenceSet(parseSequenceSet('*,5:*'), { max: 0 });

    // Act
    const hits = [1, 5, 6].filter(has);

    // Assess
    expect(hits).toEqual([]);
    expect(expandSequenceSet(parseSequenceSet('1:*'), { max: 0 })).toEqual([]);
    expect(selectExisting(parseSequenceSet('1:*'), [])).toEqual([]);
  });

  it('resolves $ to the saved numbers, and to nothing when nothing was saved', () => {
    // Prepare
    const set = parseSequenceSet('$');

    // Act
    const saved = [1, 2, 3, 4, 5, 6, 7].filter(resolveSequenceSet(set, { max: 7, saved: [6, 2, 4] }));
    const nothing = [1, 2, 3].filter(resolveSequenceSet(set, { max: 3 }));

    // Assess
    expect(saved).toEqual([2, 4, 6]);
    expect(nothing).toEqual([]);
  });

  it('answers a one-off question with matches()', () => {
    // Act
    const results = [matches(parseSequenceSet('3:*'), 5, 5), matches(parseSequenceSet('3:*'), 2, 5)];

    // Assess
    expect(results).toEqual([true, false]);
  });

  it('expands to the sequence numbers that exist, sorted and without duplicates', () => {
    // Act
    const numbers = expandSequenceSet(parseSequenceSet('5,1:3,2,9:7,40:50'), { max: 8 });

    // Assess
    expect(numbers).toEqual([1, 2, 3, 5, 7, 8]);
  });

  it('selects existing UIDs in their order', () => {
    // Prepare
    const uids = [3, 8, 15, 16, 23, 42];

    // Act
    const selected = selectExisting(parseSequenceSet('10:20,42,1'), uids);

    // Assess
    expect(selected).toEqual([15, 16, 42]);
  });

  it('is fast for huge ranges over a small mailbox', () => {
    // Prepare
    const set = parseSequenceSet('1:4294967295,2:*,4294967295:1');
    const uids = Array.from({ length: 1000 }, (_, i) => 4_000_000_000 + i);
    const started = performance.now();

    // Act
    const expanded = expandSequenceSet(set, { max: 10 });
    const selected = selectExisting(set, uids);

    // Assess
    expect(expanded).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(selected).toHaveLength(1000);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('tells the highest explicit number so a non-UID command can refuse what does not exist', () => {
    // Act
    const results = [
      highestExplicitNumber(parseSequenceSet('1:*,7,3:12')),
      highestExplicitNumber(parseSequenceSet('*')),
      highestExplicitNumber(parseSequenceSet('$')),
    ];

    // Assess
    expect(results).toEqual([12, 0, 0]);
  });
});

describe('formatSequenceSet', () => {
  it.each([
    [[1, 2, 3, 7, 9, 10], '1:3,7,9:10'],
    [[5], '5'],
    [[], ''],
    [[10, 9, 1, 2, 2, 3], '1:3,9:10'],
    [[1, 3, 5], '1,3,5'],
    [[4294967294, 4294967295], '4294967294:4294967295'],
  ])('formats %j as %j', (numbers, expected) => {
    // Act
    const text = formatSequenceSet(numbers);

    // Assess
    expect(text).toBe(expected);
  });

  it('round-trips through parse and expand', () => {
    // Prepare
    const numbers = [1, 2, 3, 5, 8, 9, 10, 11, 20];

    // Act
    const again = expandSequenceSet(parseSequenceSet(formatSequenceSet(numbers)), { max: 20 });

    // Assess
    expect(again).toEqual(numbers);
  });
});
