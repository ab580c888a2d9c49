/**
 * IMAP sequence sets (RFC 3501 §9 `sequence-set`, RFC 5182 `$`).
 *
 * A set is kept as its ranges and resolved against the mailbox only when it is used: `1:*`
 * or `1:4294967295` over a mailbox of ten messages costs ten checks, never four billion.
 * The same code serves message sequence numbers and UIDs; the caller says which `max`
 * (the highest sequence number, or the highest UID in use) stands for `*`.
 */

/** Largest nz-number (RFC 3501 §9: `nz-number` is a 32-bit unsigned value). */
export const MAX_SEQUENCE_NUMBER = 0xffff_ffff;

export class SequenceError extends Error {
  readonly code = 'INVALID_SEQUENCE_SET';
  constructor(message: string) {
    super(message);
    this.name = 'SequenceError';
  }
}

/** A number of a set, or `*`: "the largest number in use" (RFC 3501 §9, seq-number). */
export type SequenceNumber = number | '*';

/** `a:b` (either order) or a single number (from === to). */
export interface SequenceRange {
  from: SequenceNumber;
  to: SequenceNumber;
}

export type SequenceSet =
  /** `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182 §2). */
  { type: 'saved' } | { type: 'ranges'; ranges: SequenceRange[] };

export interface ResolveOptions {
  /**
   * What `*` stands for: the highest sequence number (= message count) or the highest UID in
   * use. 0 for an empty mailbox: then `*` matches nothing (nothing is in use), and since
   * only numbers that exist are ever tested, `UID FETCH 1:*` on an empty mailbox is empty.
   */
  max: number;
  /**
   * The saved search result, in the same number space as the command (RFC 5182 §2.1: a
   * server keeps UIDs; for a non-UID command convert them to sequence numbers first).
   * Absent: nothing saved, and `$` is the empty set (RFC 5182 §2.1).
   */
  saved?: readonly number[];
}

/**
 * Parses a sequence set: `1`, `2:4`, `4:2` (same as 2:4), `*`, `5:*`, `1,3:5,9`, or `$`
 * alone (RFC 5182 `seq-last-command` is a whole sequence-set, it does not join a list).
 * Throws SequenceError for 0, empty elements, signs, spaces, leading zeros (`nz-number` is
 * `digit-nz *DIGIT`) and numbers above 2^32-1.
 */
export function parseSequenceSet(text: string): SequenceSet {
  if (text === '$') return { type: 'saved' };
  if (text === '') throw new SequenceError('empty sequence set');
  const ranges: SequenceRange[] = [];
  for (const element of text.split(',')) {
    const colon = element.indexOf(':');
    if (colon === -1) {
      const n = parseSequenceNumber(element);
      ranges.push({ from: n, to: n });
    } else {
      ranges.push({
        from: parseSequenceNumber(element.slice(0, colon)),
        to: parseSequenceNumber(element.slice(colon + 1)),
      });
    }
  }
  return { type: 'ranges', ranges };
}

function parseSequenceNumber(text: string): SequenceNumber {
  if (text === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(text)) {
    throw new SequenceError(
      text === '' ? 'empty element in sequence set' : `invalid number in sequence set: ${text.slice(0, 20)}`,
    );
  }
  const n = Number(text);
  if (n > MAX_SEQUENCE_NUMBER) throw new SequenceError(`number out of range in sequence set: ${text}`);
  return n;
}

/**
 * The ranges of a set with `*` replaced by `max`, each ordered low..high, sorted and merged.
 * With max 0 a range that involves `*` is dropped: `*` names no number when none is in use.
 */
export function normalizeRanges(set: SequenceSet, options: ResolveOptions): [number, number][] {
  const { max } = options;
  let pairs: [number, number][];
  if (set.type === 'saved') {
    pairs = [...new Set(options.saved ?? [])].map((n): [number, number] => [n, n]);
  } else {
    pairs = [];
    for (const { from, to } of set.ranges) {
      if ((from === '*' || to === '*') && max < 1) continue;
      const a = from === '*' ? max : from;
      const b = to === '*' ? max : to;
      pairs.push(a <= b ? [a, b] : [b, a]);
    }
  }
  pairs.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of pairs) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      merged.push([lo, hi]);
    }
  }
  return merged;
}

/**
 * A membership test for a set: O(log ranges) per number. Test it against the numbers that
 * exist (sequence numbers 1..max, or the mailbox's UIDs); it answers for any number.
 */
export function resolveSequenceSet(set: SequenceSet, options: ResolveOptions): (n: number) => boolean {
  const ranges = normalizeRanges(set, options);
  return (n: number): boolean => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const range = ranges[mid]!;
      if (n < range[0]) hi = mid - 1;
      else if (n > range[1]) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

/** One-off test of a single number; use resolveSequenceSet for many. */
export function matches(set: SequenceSet, n: number, max: number, saved?: readonly number[]): boolean {
  return resolveSequenceSet(set, { max, saved })(n);
}

/**
 * The sequence numbers in 1..max that the set names, ascending, without duplicates. The
 * work is bounded by max (and the number of ranges), not by the numbers in the set.
 */
export function expandSequenceSet(set: SequenceSet, options: ResolveOptions): number[] {
  const out: number[] = [];
  for (const [lo, hi] of normalizeRanges(set, options)) {
    if (lo > options.max) break;
    for (let n = Math.max(lo, 1); n <= Math.min(hi, options.max); n++) out.push(n);
  }
  return out;
}

/**
 * The numbers of `existing` (ascending, e.g. the mailbox's UIDs) that the set names, in
 * the same order. `max` defaults to the last of `existing` (the highest UID in use).
 */
export function selectExisting(
  set: SequenceSet,
  existing: readonly number[],
  options: Partial<ResolveOptions> = {},
): number[] {
  const max = options.max ?? existing[existing.length - 1] ?? 0;
  const has = resolveSequenceSet(set, { max, saved: options.saved });
  return existing.filter(has);
}

/**
 * The largest explicit number of a set (ignoring `*` and `$`), or 0. A non-UID command can
 * compare it with the message count to answer BAD for a sequence number that does not exist
 * (RFC 3501 §9 seq-number: "invalid"); UID commands just ignore UIDs that do not exist.
 */
export function highestExplicitNumber(set: SequenceSet): number {
  if (set.type === 'saved') return 0;
  let highest = 0;
  for (const { from, to } of set.ranges) {
    if (from !== '*' && from > highest) highest = from;
    if (to !== '*' && to > highest) highest = to;
  }
  return highest;
}

/**
 * Compresses numbers into ranges: [1, 2, 3, 7, 9, 10] → "1:3,7,9:10" (COPYUID, APPENDUID,
 * ESEARCH ALL). Sorts a copy and drops duplicates first. An empty list gives "", which is
 * no valid sequence set: callers leave the item out instead (RFC 4731 omits ALL when empty).
 */
export function formatSequenceSet(numbers: readonly number[]): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    i++;
    while (i < sorted.length && sorted[i]! <= end + 1) {
      end = sorted[i]!;
      i++;
    }
    parts.push(start === end ? String(start) : `${start}:${end}`);
  }
  return parts.join(',');
}
