import { bad } from './errors.js';
import { astring } from './args.js';
import { highestExplicitNumber, parseSequenceSet, SequenceError, type SequenceSet } from './sequence.js';
import type { ImapSession } from './session.js';
import type { ImapArg } from './types.js';
import type { SelectedMailbox } from './selected.js';

function parseSet(arg: ImapArg | undefined): SequenceSet {
  try {
    return parseSequenceSet(astring(arg, 'sequence set'));
  } catch (err) {
    if (err instanceof SequenceError) throw bad(`Invalid sequence set: ${err.message}`);
    throw err;
  }
}

/**
 * The UIDs a command's set names in the selected mailbox, in ascending order. By sequence
 * number a number past the message count is BAD (RFC 3501 §9); by UID, UIDs that do not
 * exist are skipped. `$` is the saved SEARCH result (RFC 5182), kept as UIDs.
 */
export function targetUids(session: ImapSession, arg: ImapArg | undefined, uid: boolean): number[] {
  const view = session.selected!;
  const set = parseSet(arg);
  if (set.type === 'saved') {
    const saved = new Set(session.savedSearch ?? []);
    return view.uidList().filter((u) => saved.has(u));
  }
  if (uid) {
    const max = view.uids[view.uids.length - 1] ?? 0;
    return selectUids(view, set, max);
  }
  if (highestExplicitNumber(set) > view.exists) throw bad('No such message sequence number');
  const uids: number[] = [];
  for (const [lo, hi] of rangesOf(set, view.exists)) {
    for (let seq = Math.max(lo, 1); seq <= Math.min(hi, view.exists); seq++) uids.push(view.uids[seq - 1]!);
  }
  return [...new Set(uids)].sort((a, b) => a - b);
}

function rangesOf(set: SequenceSet, max: number): [number, number][] {
  if (set.type === 'saved') return [];
  return set.ranges
    .map(({ from, to }) => {
      const a = from === '*' ? max : from;
      const b = to === '*' ? max : to;
      return (a <= b ? [a, b] : [b, a]) as [number, number];
    })
    .sort((x, y) => x[0] - y[0]);
}

/** UIDs of the view inside the ranges, walking the ranges rather than every UID when the set is small. */
function selectUids(view: SelectedMailbox, set: SequenceSet, max: number): number[] {
  const out = new Set<number>();
  for (const [lo, hi] of rangesOf(set, max)) {
    let i = lowerBound(view.uids, lo);
    while (i < view.uids.length && view.uids[i]! <= hi) out.add(view.uids[i++]!);
  }
  return [...out].sort((a, b) => a - b);
}

function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
