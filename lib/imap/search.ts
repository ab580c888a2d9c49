/**
 * SEARCH: the parsed query (RFC 3501 §6.4.4 search keys, RFC 4731 ESEARCH return options,
 * RFC 7162 §3.1.5 MODSEQ, RFC 5182 `$`) and its evaluation over a mailbox's messages.
 *
 * Evaluation runs in two passes so that message text is read only when nothing cheaper
 * decides: pass one judges every candidate on flags, numbers, sizes, dates and the decoded
 * summary with three-valued logic (true, false, or "needs the text"); only candidates that
 * stay undecided are loaded, each once, and judged again with their text.
 */
import type { Envelope, MessageSummary } from '../mail/types.js';
import type { ImapArg } from './types.js';
import {
  formatSequenceSet,
  parseSequenceSet,
  resolveSequenceSet,
  SequenceError,
  type SequenceSet,
} from './sequence.js';

/** Nesting of parentheses, NOT and OR accepted in one query; deeper is BAD, not a stack overflow. */
export const MAX_SEARCH_DEPTH = 1000;

/** Messages whose text is loaded at the same time during one search. */
export const SEARCH_TEXT_CONCURRENCY = 8;

/** Charsets a SEARCH may declare (RFC 3501 §6.4.4: US-ASCII and UTF-8 MUST be supported). */
export const SEARCH_CHARSETS = ['UTF-8', 'US-ASCII'] as const;

export const SEARCH_RETURN_OPTIONS = ['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE'] as const;
export type SearchReturnOption = (typeof SEARCH_RETURN_OPTIONS)[number];

/** Malformed SEARCH arguments: the server answers BAD. */
export class SearchSyntaxError extends Error {
  readonly code = 'SEARCH_SYNTAX';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SearchSyntaxError';
  }
}

/**
 * An unsupported CHARSET: the server answers `NO [BADCHARSET (UTF-8 US-ASCII)]`
 * (RFC 3501 §6.4.4: NO, not BAD; §7.1 BADCHARSET lists what is supported).
 */
export class BadCharsetError extends Error {
  readonly code = 'BAD_CHARSET';
  readonly supported: readonly string[] = SEARCH_CHARSETS;
  constructor(readonly charset: string) {
    super(`unsupported charset: ${charset.slice(0, 64)}`);
    this.name = 'BadCharsetError';
  }
}

export type TextField = 'from' | 'to' | 'cc' | 'bcc' | 'subject' | 'body' | 'text';

export type SearchNode =
  | { type: 'all' }
  | { type: 'and'; nodes: SearchNode[] }
  | { type: 'or'; left: SearchNode; right: SearchNode }
  | { type: 'not'; node: SearchNode }
  /** The message has this flag or keyword (compared case-insensitively). */
  | { type: 'flag'; flag: string }
  | { type: 'recent' }
  | { type: 'sequence'; set: SequenceSet }
  | { type: 'uid'; set: SequenceSet }
  | { type: 'larger'; size: number }
  | { type: 'smaller'; size: number }
  /** day: ms since the epoch at 00:00 UTC of the given date. */
  | { type: 'date'; source: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; day: number }
  | { type: 'text'; field: TextField; value: string }
  | { type: 'header'; name: string; value: string }
  /** RFC 7162 §3.1.5; the entry is kept but ignored: a message has one MODSEQ for everything. */
  | { type: 'modseq'; value: bigint; entry?: { name: string; type: 'priv' | 'shared' | 'all' } };

export interface ParsedSearch {
  /** The declared CHARSET, upper case ("UTF-8" or "US-ASCII"), or null when none was given. */
  charset: string | null;
  query: SearchNode;
  /** RFC 4731 return options, upper case, without duplicates; `RETURN ()` is ["ALL"]; null without RETURN. */
  returnOptions: SearchReturnOption[] | null;
}

export interface SearchCandidate {
  seq: number;
  uid: number;
  flags: string[];
  modseq: number;
  /** ms since the epoch. */
  internalDate: number;
  /** RFC822.SIZE. */
  size: number;
  summary: MessageSummary;
  envelope: Envelope;
  /** \Recent for this session. */
  recent?: boolean;
}

export interface SearchContext {
  /** Highest sequence number (the message count): `*` of a sequence set key. */
  maxSeq: number;
  /** Highest UID in use: `*` of `UID set`. */
  maxUid: number;
  /** UIDs of the saved result `$` (RFC 5182); absent: nothing saved, `$` is empty. */
  saved?: readonly number[];
  /** Decoded header block (`Name: value\r\n` per field) and body text of one message. */
  loadText(uid: number): Promise<{ headerText: string; bodyText: string }>;
  /** Text loads in flight at once; default SEARCH_TEXT_CONCURRENCY. */
  concurrency?: number;
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

const FLAG_KEYS: Record<string, [flag: string, set: boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const TEXT_KEYS: Record<string, TextField> = {
  BCC: 'bcc',
  BODY: 'body',
  CC: 'cc',
  FROM: 'from',
  SUBJECT: 'subject',
  TEXT: 'text',
  TO: 'to',
};

const DATE_KEYS: Record<string, [source: 'internal' | 'sent', op: 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_MS = 86_400_000;
const MAX_MODSEQ = 2n ** 63n - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses the arguments of SEARCH / UID SEARCH (after the command name):
 * `[RETURN (options)] [CHARSET name] key...` (RFC 4466 §2.6 puts RETURN before CHARSET).
 *
 * Strings (quoted, literal or atom) are decoded as UTF-8 whatever the declared charset:
 * US-ASCII is a subset, and clients that send 8-bit text without CHARSET mean UTF-8. Bytes
 * that are not UTF-8 are a SearchSyntaxError (BAD) rather than a search for U+FFFD.
 *
 * After ENABLE UTF8=ACCEPT (options.utf8Accepted), RFC 6855 §3 tells clients to send no
 * CHARSET and servers to reject one with BAD "due to the conflicting charset labels". A
 * declared UTF-8 or US-ASCII does not conflict with UTF-8, and some clients always send
 * `CHARSET UTF-8`, so those pass; any other charset is BAD there (and NO [BADCHARSET]
 * otherwise).
 */
export function parseSearch(args: readonly ImapArg[], options: { utf8Accepted: boolean }): ParsedSearch {
  let pos = 0;
  let returnOptions: SearchReturnOption[] | null = null;
  if (isAtom(args[pos], 'RETURN')) {
    const list = args[pos + 1];
    if (list?.type !== 'list') throw new SearchSyntaxError('RETURN needs a parenthesised list of options');
    returnOptions = parseReturnOptions(list.items);
    pos += 2;
  }

  let charset: string | null = null;
  if (isAtom(args[pos], 'CHARSET')) {
    const name = args[pos + 1];
    if (name === undefined || name.type === 'list' || (name.type === 'atom' && name.section !== undefined)) {
      throw new SearchSyntaxError('CHARSET needs a charset name');
    }
    const declared = (name.type === 'atom' ? name.value : name.value.toString('latin1')).toUpperCase();
    if (!(SEARCH_CHARSETS as readonly string[]).includes(declared)) {
      if (options.utf8Accepted)
        throw new SearchSyntaxError(`CHARSET ${declared.slice(0, 64)} conflicts with UTF8=ACCEPT`);
      throw new BadCharsetError(declared);
    }
    charset = declared;
    pos += 2;
  }

  const rest = args.slice(pos);
  if (rest.length === 0) throw new SearchSyntaxError('SEARCH needs at least one search key');
  const query = parseKeys(new Reader(rest), 0);
  return { charset, query, returnOptions };
}

function parseReturnOptions(items: readonly ImapArg[]): SearchReturnOption[] {
  if (items.length === 0) return ['ALL']; // RFC 4731 §3.1: RETURN () is RETURN (ALL)
  const out: SearchReturnOption[] = [];
  for (const item of items) {
    const name = item.type === 'atom' && item.section === undefined ? item.value.toUpperCase() : '';
    if (!(SEARCH_RETURN_OPTIONS as readonly string[]).includes(name)) {
      throw new SearchSyntaxError(`unknown SEARCH return option: ${describe(item)}`);
    }
    if (!out.includes(name as SearchReturnOption)) out.push(name as SearchReturnOption);
  }
  return out;
}

class Reader {
  private pos = 0;
  constructor(private readonly items: readonly ImapArg[]) {}
  get done(): boolean {
    return this.pos >= this.items.length;
  }
  next(): ImapArg | undefined {
    return this.items[this.pos++];
  }
  peek(): ImapArg | undefined {
    return this.items[this.pos];
  }
}

/** All remaining keys of a reader, ANDed (RFC 3501 §6.4.4: keys in sequence are ANDed). */
function parseKeys(reader: Reader, depth: number): SearchNode {
  const nodes: SearchNode[] = [];
  while (!reader.done) nodes.push(parseKey(reader, depth));
  if (nodes.length === 1) return nodes[0]!;
  return { type: 'and', nodes };
}

function parseKey(reader: Reader, depth: number): SearchNode {
  if (depth > MAX_SEARCH_DEPTH) throw new SearchSyntaxError('search keys nested too deeply');
  const arg = reader.next();
  if (arg === undefined) throw new SearchSyntaxError('missing search key');
  if (arg.type === 'list') {
    if (arg.items.length === 0) throw new SearchSyntaxError('empty parenthesised search key');
    return parseKeys(new Reader(arg.items), depth + 1);
  }
  if (arg.type === 'string' || arg.section !== undefined) {
    throw new SearchSyntaxError(`not a search key: ${describe(arg)}`);
  }
  const key = arg.value.toUpperCase();

  const flagKey = FLAG_KEYS[key];
  if (flagKey) {
    const node: SearchNode = { type: 'flag', flag: flagKey[0] };
    return flagKey[1] ? node : { type: 'not', node };
  }
  const textField = TEXT_KEYS[key];
  if (textField) return { type: 'text', field: textField, value: readString(reader, key) };
  const dateKey = DATE_KEYS[key];
  if (dateKey) return { type: 'date', source: dateKey[0], op: dateKey[1], day: readDate(reader, key) };

  switch (key) {
    case 'ALL':
      return { type: 'all' };
    case 'NEW': // RFC 3501: "functionally equivalent to (RECENT UNSEEN)"
      return {
        type: 'and',
        nodes: [{ type: 'recent' }, { type: 'not', node: { type: 'flag', flag: '\\Seen' } }],
      };
    case 'OLD': // "functionally equivalent to NOT RECENT"
      return { type: 'not', node: { type: 'recent' } };
    case 'RECENT':
      return { type: 'recent' };
    case 'KEYWORD':
      return { type: 'flag', flag: readFlag(reader, key) };
    case 'UNKEYWORD':
      return { type: 'not', node: { type: 'flag', flag: readFlag(reader, key) } };
    case 'LARGER':
      return { type: 'larger', size: readNumber(reader, key) };
    case 'SMALLER':
      return { type: 'smaller', size: readNumber(reader, key) };
    case 'HEADER': {
      const name = readString(reader, key);
      return { type: 'header', name, value: readString(reader, key) };
    }
    case 'UID':
      return { type: 'uid', set: readSequenceSet(reader, key) };
    case 'NOT':
      return { type: 'not', node: parseKey(reader, depth + 1) };
    case 'OR': {
      const left = parseKey(reader, depth + 1);
      const right = parseKey(reader, depth + 1);
      return { type: 'or', left, right };
    }
    case 'MODSEQ':
      return parseModseq(reader);
    default:
      try {
        return { type: 'sequence', set: parseSequenceSet(arg.value) };
      } catch (err) {
        if (!(err instanceof SequenceError)) throw err;
        if (/^[0-9*$]/.test(arg.value)) throw new SearchSyntaxError(err.message, { cause: err });
        throw new SearchSyntaxError(`unknown search key: ${describe(arg)}`);
      }
  }
}

/** RFC 7162 §3.1.5: `MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer`. */
function parseModseq(reader: Reader): SearchNode {
  let entry: { name: string; type: 'priv' | 'shared' | 'all' } | undefined;
  if (reader.peek()?.type === 'string') {
    const name = readString(reader, 'MODSEQ');
    const typeArg = reader.next();
    const type = typeArg?.type === 'atom' ? typeArg.value.toLowerCase() : '';
    if (type !== 'priv' && type !== 'shared' && type !== 'all') {
      throw new SearchSyntaxError('MODSEQ entry type must be priv, shared or all');
    }
    entry = { name, type };
  }
  const arg = reader.next();
  if (arg?.type !== 'atom' || !/^[0-9]{1,19}$/.test(arg.value)) {
    throw new SearchSyntaxError('MODSEQ needs a mod-sequence value');
  }
  const value = BigInt(arg.value);
  if (value > MAX_MODSEQ) throw new SearchSyntaxError('MODSEQ value out of range');
  return entry ? { type: 'modseq', value, entry } : { type: 'modseq', value };
}

/** An astring argument (atom, quoted string or literal), decoded as UTF-8. */
function readString(reader: Reader, key: string): string {
  const arg = reader.next();
  if (arg === undefined || arg.type === 'list' || (arg.type === 'atom' && arg.section !== undefined)) {
    throw new SearchSyntaxError(`${key} needs a string`);
  }
  if (arg.type === 'atom') return arg.value;
  try {
    return utf8.decode(arg.value);
  } catch {
    throw new SearchSyntaxError(`${key} argument is not valid UTF-8`);
  }
}

function readFlag(reader: Reader, key: string): string {
  const arg = reader.next();
  if (arg?.type !== 'atom' || arg.section !== undefined || arg.value === '') {
    throw new SearchSyntaxError(`${key} needs a flag keyword`);
  }
  return arg.value;
}

function readNumber(reader: Reader, key: string): number {
  const arg = reader.next();
  if (arg?.type !== 'atom' || !/^[0-9]{1,16}$/.test(arg.value) || !Number.isSafeInteger(Number(arg.value))) {
    throw new SearchSyntaxError(`${key} needs a number`);
  }
  return Number(arg.value);
}

function readSequenceSet(reader: Reader, key: string): SequenceSet {
  const arg = reader.next();
  if (arg?.type !== 'atom' || arg.section !== undefined)
    throw new SearchSyntaxError(`${key} needs a sequence set`);
  try {
    return parseSequenceSet(arg.value);
  } catch (err) {
    if (err instanceof SequenceError) throw new SearchSyntaxError(err.message, { cause: err });
    throw err;
  }
}

/** RFC 3501 `date`: `d-Mon-yyyy`, bare or quoted; day 1 or 2 digits, month case-insensitive. */
function readDate(reader: Reader, key: string): number {
  const arg = reader.next();
  let text: string | undefined;
  if (arg?.type === 'atom' && arg.section === undefined) text = arg.value;
  else if (arg?.type === 'string') text = arg.value.toString('latin1');
  const day = text === undefined ? null : parseSearchDate(text);
  if (day === null) throw new SearchSyntaxError(`${key} needs a date like 1-Feb-1994`);
  return day;
}

/** `1-Feb-1994` → ms at 00:00 UTC of that day; null when malformed or no such day (31-Apr). */
export function parseSearchDate(text: string): number | null {
  const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(text);
  if (!m) return null;
  return utcDay(Number(m[3]), MONTHS.indexOf(m[2]!.toLowerCase()), Number(m[1]));
}

/** ms at 00:00 UTC of year-month(0-based)-day, or null if that day does not exist. */
function utcDay(year: number, month: number, day: number): number | null {
  if (month < 0 || day < 1) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month, day); // not Date.UTC: it reads years 0..99 as 1900..1999
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month || d.getUTCDate() !== day) return null;
  return d.getTime();
}

function isAtom(arg: ImapArg | undefined, name: string): boolean {
  return arg?.type === 'atom' && arg.section === undefined && arg.value.toUpperCase() === name;
}

function describe(arg: ImapArg): string {
  if (arg.type === 'list') return '(...)';
  if (arg.type === 'string') return 'a string';
  return arg.value.slice(0, 40);
}

/** Whether the query uses MODSEQ: the untagged SEARCH/ESEARCH then carries (MODSEQ n) (RFC 7162 §3.1.5). */
export function usesModseq(node: SearchNode): boolean {
  switch (node.type) {
    case 'modseq':
      return true;
    case 'and':
      return node.nodes.some(usesModseq);
    case 'or':
      return usesModseq(node.left) || usesModseq(node.right);
    case 'not':
      return usesModseq(node.node);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/** A candidate's text, lower-cased on first use and only once. */
class LoadedText {
  private headerLower?: string;
  private bodyLower?: string;
  private fields?: [name: string, value: string][];
  constructor(private readonly text: { headerText: string; bodyText: string }) {}
  header(): string {
    return (this.headerLower ??= fold(this.text.headerText));
  }
  body(): string {
    return (this.bodyLower ??= fold(this.text.bodyText));
  }
  /** The header fields as lower-case [name, value] pairs, in order. */
  headerFields(): [string, string][] {
    if (this.fields) return this.fields;
    const fields: [string, string][] = [];
    for (const line of this.header().split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const value = line.slice(colon + 1);
      fields.push([line.slice(0, colon).trim(), value.startsWith(' ') ? value.slice(1) : value]);
    }
    return (this.fields = fields);
  }
}

/** true / false, or undefined: cannot tell without the message text. */
type Verdict = boolean | undefined;

/** 0: flags, numbers, dates; 1: summary strings; 2: needs loadText. */
type Cost = 0 | 1 | 2;

interface Matcher {
  cost: Cost;
  test(c: SearchCandidate, text: LoadedText | null): Verdict;
}

/**
 * The sequence numbers of the candidates that match, ascending. loadText is called at most
 * once per candidate, and only for candidates that the keys not needing text leave
 * undecided (`BODY x SEEN` never loads an unseen message; `OR BODY x SEEN` never loads a
 * seen one). A failing loadText rejects the whole search.
 */
export async function evaluateSearch(
  query: SearchNode,
  messages: readonly SearchCandidate[],
  ctx: SearchContext,
): Promise<number[]> {
  const matcher = compile(query, ctx);
  const found: number[] = [];
  const undecided: SearchCandidate[] = [];
  for (const c of messages) {
    const verdict = matcher.test(c, null);
    if (verdict === true) found.push(c.seq);
    else if (verdict === undefined) undecided.push(c);
  }

  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < undecided.length) {
      const c = undecided[next++]!;
      try {
        const text = new LoadedText(await ctx.loadText(c.uid));
        if (matcher.test(c, text) === true) found.push(c.seq);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Math.max(1, Math.min(ctx.concurrency ?? SEARCH_TEXT_CONCURRENCY, undecided.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return found.sort((a, b) => a - b);
}

/**
 * AND (decisive: false) or OR (decisive: true) in three-valued logic: the first part that
 * gives the decisive value settles it; an undecided part leaves the whole undecided unless
 * another settles it. Cheap parts are tried first.
 */
function combine(matchers: Matcher[], decisive: boolean): Matcher {
  const parts = matchers.sort((a, b) => a.cost - b.cost);
  return {
    cost: maxCost(parts),
    test(c, text) {
      let unknown = false;
      for (const p of parts) {
        const v = p.test(c, text);
        if (v === decisive) return decisive;
        if (v === undefined) unknown = true;
      }
      return unknown ? undefined : !decisive;
    },
  };
}

function compile(node: SearchNode, ctx: SearchContext): Matcher {
  switch (node.type) {
    case 'all':
      return { cost: 0, test: () => true };
    case 'and':
      return combine(
        node.nodes.map((n) => compile(n, ctx)),
        false,
      );
    case 'or':
      return combine([compile(node.left, ctx), compile(node.right, ctx)], true);
    case 'not': {
      const inner = compile(node.node, ctx);
      return {
        cost: inner.cost,
        test(c, text) {
          const v = inner.test(c, text);
          return v === undefined ? undefined : !v;
        },
      };
    }
    case 'flag': {
      const flag = node.flag.toLowerCase(); // RFC 3501 §2.3.2: flags compare case-insensitively
      return { cost: 0, test: (c) => c.flags.some((f) => f.toLowerCase() === flag) };
    }
    case 'recent':
      return { cost: 0, test: (c) => c.recent === true };
    case 'sequence': {
      // `$` is the saved result, kept as UIDs whatever the key (RFC 5182 §2.1).
      if (node.set.type === 'saved') return savedMatcher(ctx);
      const has = resolveSequenceSet(node.set, { max: ctx.maxSeq });
      return { cost: 0, test: (c) => has(c.seq) };
    }
    case 'uid': {
      if (node.set.type === 'saved') return savedMatcher(ctx);
      const has = resolveSequenceSet(node.set, { max: ctx.maxUid });
      return { cost: 0, test: (c) => has(c.uid) };
    }
    case 'larger': {
      const size = node.size;
      return { cost: 0, test: (c) => c.size > size };
    }
    case 'smaller': {
      const size = node.size;
      return { cost: 0, test: (c) => c.size < size };
    }
    case 'date': {
      const { day, op } = node;
      const dayOf = node.source === 'internal' ? (c: SearchCandidate) => utcDayOf(c.internalDate) : sentDay;
      return {
        cost: 0,
        test(c) {
          const d = dayOf(c);
          if (d === null) return false;
          return op === 'before' ? d < day : op === 'on' ? d === day : d >= day;
        },
      };
    }
    case 'modseq': {
      // Our MODSEQs are safe integers; a larger value in the query matches nothing.
      const min = node.value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(node.value);
      return { cost: 0, test: (c) => c.modseq >= min };
    }
    case 'text':
      return compileText(node.field, fold(node.value));
    case 'header': {
      const name = fold(node.name.trim());
      const needle = fold(node.value);
      return {
        cost: 2,
        test(_c, text) {
          if (!text) return undefined;
          return text.headerFields().some(([n, v]) => n === name && v.includes(needle));
        },
      };
    }
  }
}

function compileText(field: TextField, needle: string): Matcher {
  switch (field) {
    case 'from':
    case 'to':
    case 'cc':
    case 'subject':
      return { cost: 1, test: (c) => fold(c.summary[field]).includes(needle) };
    case 'bcc':
      return {
        cost: 2,
        test(c, text) {
          // No Bcc field at all: nothing to load (only an empty needle matches an empty field).
          if (c.envelope.bcc === null && needle !== '') return false;
          if (!text) return undefined;
          return text.headerFields().some(([n, v]) => n === 'bcc' && v.includes(needle));
        },
      };
    case 'body':
      return { cost: 2, test: (_c, text) => (text ? text.body().includes(needle) : undefined) };
    case 'text':
      return {
        cost: 2,
        test: (_c, text) =>
          text ? text.header().includes(needle) || text.body().includes(needle) : undefined,
      };
  }
}

function savedMatcher(ctx: SearchContext): Matcher {
  const saved = new Set(ctx.saved ?? []);
  return { cost: 0, test: (c) => saved.has(c.uid) };
}

function maxCost(parts: readonly Matcher[]): Cost {
  return parts.reduce<Cost>((m, p) => (p.cost > m ? p.cost : m), 0);
}

/**
 * Case folding for text keys: full Unicode lower case on both sides ("ПРИВЕТ" = "привет"),
 * with the final sigma folded to σ as well. Nothing else is folded (no ё/е, no accents,
 * no whitespace): RFC 3501 asks for case-insensitive substring matching only.
 */
function fold(text: string): string {
  const lower = text.toLowerCase();
  return lower.includes('ς') ? lower.replaceAll('ς', 'σ') : lower;
}

function utcDayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * The calendar date of the Date header, "disregarding time and timezone" (RFC 3501 §6.4.4):
 * the day, month and year as the sender wrote them (so `Mon, 1 Feb 1994 23:30 -0800` is
 * 1-Feb-1994, as in Dovecot), read from the raw field in the envelope. When that does not
 * look like an RFC 5322 date, the UTC date of the parsed summary.date; no usable Date
 * header: no SENT* key matches (so NOT SENTBEFORE does).
 */
function sentDay(c: SearchCandidate): number | null {
  const raw = c.envelope.date;
  if (raw !== null) {
    const m = /(?:^|[\s,])([0-9]{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+([0-9]{2,4})(?![0-9])/.exec(raw);
    if (m) {
      let year = Number(m[3]);
      // RFC 5322 §4.3 obsolete years: two digits → 1950..2049, three digits → +1900.
      if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
      else if (m[3]!.length === 3) year += 1900;
      const day = utcDay(year, MONTHS.indexOf(m[2]!.toLowerCase()), Number(m[1]));
      if (day !== null) return day;
    }
  }
  return c.summary.date === null ? null : utcDayOf(c.summary.date);
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/**
 * The numbers a `RETURN (SAVE ...)` keeps as `$` (RFC 5182 §2.4): all matches, except that
 * SAVE with MIN and/or MAX but neither ALL nor COUNT keeps only the minimum and/or maximum.
 * `matches` ascending (UIDs: the saved result is UIDs).
 */
export function resultToSave(
  matches: readonly number[],
  returnOptions: readonly SearchReturnOption[],
): number[] {
  const min = returnOptions.includes('MIN');
  const max = returnOptions.includes('MAX');
  if ((!min && !max) || returnOptions.includes('ALL') || returnOptions.includes('COUNT')) return [...matches];
  const out: number[] = [];
  const first = matches[0];
  const last = matches[matches.length - 1];
  if (min && first !== undefined) out.push(first);
  if (max && last !== undefined && last !== first) out.push(last);
  return out;
}

/**
 * The search-return-data of an ESEARCH response (RFC 4731 §3.1), e.g. `MIN 2 MAX 9 COUNT 3
 * ALL 2,5,9`; with no match only `COUNT 0` remains (MIN, MAX and ALL are left out). `matches`
 * ascending. `modseq` (RFC 7162 §3.1.5, the highest MODSEQ of what is returned) is added when
 * given and something matched. SAVE adds nothing; with SAVE alone no ESEARCH is sent at all.
 */
export function formatEsearchData(
  matches: readonly number[],
  returnOptions: readonly SearchReturnOption[],
  modseq?: number,
): string {
  const parts: string[] = [];
  const first = matches[0];
  const last = matches[matches.length - 1];
  if (returnOptions.includes('MIN') && first !== undefined) parts.push(`MIN ${first}`);
  if (returnOptions.includes('MAX') && last !== undefined) parts.push(`MAX ${last}`);
  if (returnOptions.includes('COUNT')) parts.push(`COUNT ${matches.length}`);
  if (returnOptions.includes('ALL') && matches.length > 0) parts.push(`ALL ${formatSequenceSet(matches)}`);
  if (modseq !== undefined && matches.length > 0) parts.push(`MODSEQ ${modseq}`);
  return parts.join(' ');
}
