import { describe, expect, it, vi } from 'vitest';
import {
  BadCharsetError,
  evaluateSearch,
  formatEsearchData,
  MAX_SEARCH_DEPTH,
  parseSearch,
  parseSearchDate,
  resultToSave,
  SearchSyntaxError,
  usesModseq,
  type SearchCandidate,
  type SearchContext,
  type SearchNode,
} from '../../lib/imap/search.js';
import type { ImapArg } from '../../lib/imap/types.js';
import type { Envelope } from '../../lib/mail/types.js';

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/**
 * Builds parsed arguments from a command line the way the IMAP tokenizer hands them over:
 * atoms, "quoted strings" (with \" and \\), (lists), and `{L}` for the next literal.
 */
function args(text: string, literals: Buffer[] = []): ImapArg[] {
  let pos = 0;
  const pending = [...literals];
  const readList = (closing: boolean): ImapArg[] => {
    const items: ImapArg[] = [];
    while (pos < text.length) {
      const ch = text[pos]!;
      if (ch === ' ') {
        pos++;
      } else if (ch === '(') {
        pos++;
        items.push({ type: 'list', items: readList(true) });
      } else if (ch === ')') {
        if (!closing) throw new Error('unbalanced )');
        pos++;
        return items;
      } else if (ch === '"') {
        let value = '';
        pos++;
        while (text[pos] !== '"') {
          if (text[pos] === '\\') pos++;
          value += text[pos++];
        }
        pos++;
        items.push({ type: 'string', value: Buffer.from(value, 'utf8'), literal: false });
      } else if (text.startsWith('{L}', pos)) {
        pos += 3;
        items.push({ type: 'string', value: pending.shift()!, literal: true });
      } else {
        const end = text.slice(pos).search(/[ ()]/);
        const value = end === -1 ? text.slice(pos) : text.slice(pos, pos + end);
        pos += value.length;
        items.push({ type: 'atom', value });
      }
    }
    if (closing) throw new Error('unbalanced (');
    return items;
  };
  return readList(false);
}

function query(text: string, literals: Buffer[] = []): SearchNode {
  return parseSearch(args(text, literals), { utf8Accepted: false }).query;
}

const not = (node: SearchNode): SearchNode => ({ type: 'not', node });
const flag = (name: string): SearchNode => ({ type: 'flag', flag: name });
const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d);

interface Fixture {
  seq: number;
  uid?: number;
  flags?: string[];
  recent?: boolean;
  modseq?: number;
  internalDate?: number;
  size?: number;
  subject?: string;
  from?: string;
  to?: string;
  cc?: string;
  /** Raw Date header; null: none. Default: a date matching `sent`. */
  dateHeader?: string | null;
  /** summary.date */
  sent?: number | null;
  bcc?: string;
  extraHeaders?: string[];
  body?: string;
}

interface Built {
  candidates: SearchCandidate[];
  texts: Map<number, { headerText: string; bodyText: string }>;
}

const EMPTY_ENVELOPE: Envelope = {
  date: null,
  subject: null,
  from: null,
  sender: null,
  replyTo: null,
  to: null,
  cc: null,
  bcc: null,
  inReplyTo: null,
  messageId: null,
};

function build(fixtures: Fixture[]): Built {
  const candidates: SearchCandidate[] = [];
  const texts = new Map<number, { headerText: string; bodyText: string }>();
  for (const f of fixtures) {
    const uid = f.uid ?? f.seq * 10;
    const subject = f.subject ?? `Message ${f.seq}`;
    const from = f.from ?? 'Alice Example <alice@example.net>';
    const to = f.to ?? 'Bob <bob@example.test>';
    const sent = f.sent === undefined ? day(2024, 1, f.seq) + 8 * 3_600_000 : f.sent;
    const dateHeader =
      f.dateHeader !== undefined
        ? f.dateHeader
        : sent === null
          ? null
          : new Date(sent).toUTCString().replace('GMT', '+0000');
    const header = [
      `From: ${from}`,
      `To: ${to}`,
      ...(f.cc ? [`Cc: ${f.cc}`] : []),
      ...(f.bcc ? [`Bcc: ${f.bcc}`] : []),
      `Subject: ${subject}`,
      ...(dateHeader === null ? [] : [`Date: ${dateHeader}`]),
      ...(f.extraHeaders ?? []),
    ];
    texts.set(uid, {
      headerText: header.map((line) => `${line}\r\n`).join(''),
      bodyText: f.body ?? `Body of ${f.seq}`,
    });
    candidates.push({
      seq: f.seq,
      uid,
      flags: f.flags ?? [],
      modseq: f.modseq ?? f.seq,
      internalDate: f.internalDate ?? day(2024, 1, f.seq) + 12 * 3_600_000,
      size: f.size ?? f.seq * 100,
      recent: f.recent,
      summary: { subject, from, to, cc: f.cc ?? '', date: sent, messageId: null, attachments: [] },
      envelope: {
        ...EMPTY_ENVELOPE,
        date: dateHeader,
        subject,
        bcc: f.bcc
          ? [{ name: null, adl: null, mailbox: f.bcc.split('@')[0]!, host: f.bcc.split('@')[1]! }]
          : null,
      },
    });
  }
  return { candidates, texts };
}

/** ~20 messages: Cyrillic and Greek text, flags, keywords, dates, sizes, MODSEQs. */
function mailbox(): Built {
  return build([
    {
      seq: 1,
      subject: 'Привет из Москвы',
      from: 'Иван Петров <ivan@example.ru>',
      body: 'Текст письма: ПРИВЕТ всем',
      flags: ['\\Seen'],
    },
    { seq: 2, subject: 'ПРИВЕТ', body: 'письмо в KOI8-R, уже декодированное', flags: [] },
    {
      seq: 3,
      subject: 'Hello',
      body: 'hello world, привет',
      flags: ['\\Flagged', '$Important'],
      recent: true,
    },
    { seq: 4, subject: 'Invoice', extraHeaders: ['X-Spam: YES'], flags: ['\\Answered', '\\Seen'] },
    { seq: 5, subject: 'Secret copy', bcc: 'secret@example.net', flags: ['\\Seen'] },
    { seq: 6, subject: 'No date header', sent: null, flags: ['\\Seen'] },
    {
      seq: 7,
      subject: 'Late evening in California',
      dateHeader: 'Tue, 1 Feb 1994 23:30:00 -0800',
      sent: Date.UTC(1994, 1, 2, 7, 30),
      flags: ['\\Seen'],
    },
    { seq: 8, subject: 'Draft to delete', flags: ['\\Deleted', '\\Draft'] },
    { seq: 9, subject: 'ΟΔΟΣ', body: 'Greek text', flags: ['\\Seen'], recent: true },
    { seq: 10, subject: 'Big attachment', size: 5_000_000, flags: ['\\Seen'], modseq: 500 },
    { seq: 11, subject: 'Meeting', cc: 'Carol <carol@example.org>', flags: ['\\Seen'] },
    { seq: 12, subject: 'Re: Meeting', flags: ['\\Seen', '\\Answered'] },
    { seq: 13, subject: 'Newsletter', extraHeaders: ['List-Id: <news.example.com>'], flags: ['\\Seen'] },
    { seq: 14, subject: 'Report', flags: ['\\Seen', 'Work'] },
    { seq: 15, subject: 'Photos', flags: ['\\Seen'], uid: 151 },
    { seq: 16, subject: 'Tickets', flags: ['\\Seen'], uid: 160 },
    { seq: 17, subject: 'Receipt', flags: ['\\Seen'], uid: 170, recent: true },
    { seq: 18, subject: 'Reminder', flags: [], uid: 175, recent: true },
    { seq: 19, subject: 'Plain old mail', flags: ['\\Seen'], uid: 190, modseq: 300 },
    {
      seq: 20,
      subject: 'Last one',
      body: 'Привет, это последнее',
      flags: ['\\Seen'],
      uid: 200,
      modseq: 1000,
    },
  ]);
}

function context(built: Built, extra: Partial<SearchContext> = {}) {
  const calls: number[] = [];
  const loadText = vi.fn(async (uid: number) => {
    calls.push(uid);
    const text = built.texts.get(uid);
    if (!text) throw new Error(`no text for ${uid}`);
    return text;
  });
  const last = built.candidates[built.candidates.length - 1];
  const ctx: SearchContext = {
    maxSeq: last?.seq ?? 0,
    maxUid: last?.uid ?? 0,
    loadText,
    ...extra,
  };
  return { ctx, calls };
}

async function run(text: string, extra: Partial<SearchContext> = {}, literals: Buffer[] = []) {
  const built = mailbox();
  const { ctx, calls } = context(built, extra);
  const seqs = await evaluateSearch(query(text, literals), built.candidates, ctx);
  return { seqs, calls };
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

describe('parseSearch', () => {
  it.each<[string, SearchNode]>([
    ['ALL', { type: 'all' }],
    ['ANSWERED', flag('\\Answered')],
    ['BCC joe', { type: 'text', field: 'bcc', value: 'joe' }],
    ['BEFORE 1-Feb-1994', { type: 'date', source: 'internal', op: 'before', day: day(1994, 2, 1) }],
    ['BODY "hello world"', { type: 'text', field: 'body', value: 'hello world' }],
    ['CC carol', { type: 'text', field: 'cc', value: 'carol' }],
    ['DELETED', flag('\\Deleted')],
    ['DRAFT', flag('\\Draft')],
    ['FLAGGED', flag('\\Flagged')],
    ['FROM alice', { type: 'text', field: 'from', value: 'alice' }],
    ['HEADER List-Id news', { type: 'header', name: 'List-Id', value: 'news' }],
    ['KEYWORD $Important', flag('$Important')],
    ['LARGER 1024', { type: 'larger', size: 1024 }],
    ['NEW', { type: 'and', nodes: [{ type: 'recent' }, not(flag('\\Seen'))] }],
    ['NOT SEEN', not(flag('\\Seen'))],
    ['OLD', not({ type: 'recent' })],
    ['ON 15-Mar-2024', { type: 'date', source: 'internal', op: 'on', day: day(2024, 3, 15) }],
    ['OR SEEN FLAGGED', { type: 'or', left: flag('\\Seen'), right: flag('\\Flagged') }],
    ['RECENT', { type: 'recent' }],
    ['SEEN', flag('\\Seen')],
    ['SENTBEFORE 2-Jan-2000', { type: 'date', source: 'sent', op: 'before', day: day(2000, 1, 2) }],
    ['SENTON 29-Feb-2024', { type: 'date', source: 'sent', op: 'on', day: day(2024, 2, 29) }],
    ['SENTSINCE 31-Dec-1999', { type: 'date', source: 'sent', op: 'since', day: day(1999, 12, 31) }],
    ['SINCE 01-jan-2024', { type: 'date', source: 'internal', op: 'since', day: day(2024, 1, 1) }],
    ['SMALLER 500', { type: 'smaller', size: 500 }],
    ['SUBJECT report', { type: 'text', field: 'subject', value: 'report' }],
    ['TEXT "needle"', { type: 'text', field: 'text', value: 'needle' }],
    ['TO bob', { type: 'text', field: 'to', value: 'bob' }],
    ['UID 2:*', { type: 'uid', set: { type: 'ranges', ranges: [{ from: 2, to: '*' }] } }],
    ['UNANSWERED', not(flag('\\Answered'))],
    ['UNDELETED', not(flag('\\Deleted'))],
    ['UNDRAFT', not(flag('\\Draft'))],
    ['UNFLAGGED', not(flag('\\Flagged'))],
    ['UNKEYWORD Work', not(flag('Work'))],
    ['UNSEEN', not(flag('\\Seen'))],
    ['MODSEQ 620162338', { type: 'modseq', value: 620162338n }],
    [
      'MODSEQ "/flags/\\\\draft" all 620162338',
      { type: 'modseq', value: 620162338n, entry: { name: '/flags/\\draft', type: 'all' } },
    ],
    ['$', { type: 'sequence', set: { type: 'saved' } }],
    ['UID $', { type: 'uid', set: { type: 'saved' } }],
    ['seen', flag('\\Seen')],
    ['subject "say \\"hi\\""', { type: 'text', field: 'subject', value: 'say "hi"' }],
  ])('parses %s', (text, expected) => {
    // Act
    const node = query(text);

    // Assess
    expect(node).toEqual(expected);
  });

  it('parses OR of a parenthesised group with NOT', () => {
    // Act
    const node = query('OR (FROM a SUBJECT b) NOT SEEN');

    // Assess
    expect(node).toEqual({
      type: 'or',
      left: {
        type: 'and',
        nodes: [
          { type: 'text', field: 'from', value: 'a' },
          { type: 'text', field: 'subject', value: 'b' },
        ],
      },
      right: not(flag('\\Seen')),
    });
  });

  it('ANDs a sequence set with the keys after it', () => {
    // Act
    const node = query('1:3,5 UNSEEN');

    // Assess
    expect(node).toEqual({
      type: 'and',
      nodes: [
        {
          type: 'sequence',
          set: {
            type: 'ranges',
            ranges: [
              { from: 1, to: 3 },
              { from: 5, to: 5 },
            ],
          },
        },
        not(flag('\\Seen')),
      ],
    });
  });

  it('reads HEADER with an empty string', () => {
    // Act
    const node = query('HEADER X-Spam ""');

    // Assess
    expect(node).toEqual({ type: 'header', name: 'X-Spam', value: '' });
  });

  it('reads nested groups and right-nested OR chains as clients send them', () => {
    // Act
    const node = query('((SEEN) (OR FROM a OR TO a CC a))');

    // Assess
    expect(node).toEqual({
      type: 'and',
      nodes: [
        flag('\\Seen'),
        {
          type: 'or',
          left: { type: 'text', field: 'from', value: 'a' },
          right: {
            type: 'or',
            left: { type: 'text', field: 'to', value: 'a' },
            right: { type: 'text', field: 'cc', value: 'a' },
          },
        },
      ],
    });
  });

  it('reads ESEARCH return options before the keys', () => {
    // Act
    const withOptions = parseSearch(args('RETURN (min COUNT MIN) UNSEEN'), { utf8Accepted: false });
    const empty = parseSearch(args('RETURN () ALL'), { utf8Accepted: false });
    const save = parseSearch(args('RETURN (SAVE) CHARSET UTF-8 SEEN'), { utf8Accepted: false });
    const none = parseSearch(args('ALL'), { utf8Accepted: false });

    // Assess
    expect(withOptions.returnOptions).toEqual(['MIN', 'COUNT']);
    expect(withOptions.query).toEqual(not(flag('\\Seen')));
    expect(empty.returnOptions).toEqual(['ALL']);
    expect(save).toEqual({ charset: 'UTF-8', query: flag('\\Seen'), returnOptions: ['SAVE'] });
    expect(none.returnOptions).toBeNull();
  });

  it('decodes a UTF-8 literal after CHARSET UTF-8', () => {
    // Prepare
    const literal = Buffer.from('привет', 'utf8');

    // Act
    const parsed = parseSearch(args('CHARSET UTF-8 SUBJECT {L}', [literal]), { utf8Accepted: false });

    // Assess
    expect(literal.length).toBe(12);
    expect(parsed.charset).toBe('UTF-8');
    expect(parsed.query).toEqual({ type: 'text', field: 'subject', value: 'привет' });
  });

  it('accepts the charset name in any case, as an atom or a string', () => {
    // Act
    const lower = parseSearch(args('CHARSET utf-8 ALL'), { utf8Accepted: false });
    const ascii = parseSearch(args('CHARSET "us-ascii" ALL'), { utf8Accepted: false });

    // Assess
    expect(lower.charset).toBe('UTF-8');
    expect(ascii.charset).toBe('US-ASCII');
  });

  it('refuses other charsets with BadCharsetError listing what is supported', () => {
    // Act
    let error: unknown;
    try {
      parseSearch(args('CHARSET KOI8-R SUBJECT x'), { utf8Accepted: false });
    } catch (err) {
      error = err;
    }

    // Assess
    expect(error).toBeInstanceOf(BadCharsetError);
    expect((error as BadCharsetError).supported).toEqual(['UTF-8', 'US-ASCII']);
    expect((error as BadCharsetError).charset).toBe('KOI8-R');
  });

  it('after UTF8=ACCEPT lets CHARSET UTF-8 pass and refuses others as BAD (RFC 6855 §3)', () => {
    // Act
    const utf8 = parseSearch(args('CHARSET UTF-8 ALL'), { utf8Accepted: true });
    const other = () => parseSearch(args('CHARSET KOI8-R ALL'), { utf8Accepted: true });

    // Assess
    expect(utf8.charset).toBe('UTF-8');
    expect(other).toThrow(SearchSyntaxError);
  });

  it.each([
    ['', 'no keys'],
    ['RETURN (MIN)', 'RETURN without keys'],
    ['CHARSET UTF-8', 'CHARSET without keys'],
    ['CHARSET', 'CHARSET without a name'],
    ['FOO', 'unknown key'],
    ['ALL CHARSET UTF-8', 'CHARSET after a key'],
    ['SUBJECT', 'missing string'],
    ['SUBJECT (a)', 'list as string'],
    ['HEADER Subject', 'HEADER without value'],
    ['BEFORE', 'missing date'],
    ['BEFORE 31-Apr-2024', 'no such day'],
    ['ON 29-Feb-2023', 'not a leap year'],
    ['SINCE 1-Foo-2024', 'bad month'],
    ['SINCE 2024-01-01', 'ISO date'],
    ['SINCE 1-Jan-24', 'two-digit year'],
    ['SINCE 123-Jan-2024', 'three-digit day'],
    ['SINCE 0-Jan-2024', 'day zero'],
    ['LARGER', 'missing number'],
    ['LARGER abc', 'not a number'],
    ['SMALLER -1', 'negative'],
    ['SMALLER 99999999999999999999', 'too large'],
    ['UID', 'missing set'],
    ['UID 0', 'zero UID'],
    ['UID 1,,2', 'empty element'],
    ['0', 'sequence number zero'],
    ['1:4294967296', 'sequence number too large'],
    ['NOT', 'NOT without key'],
    ['OR SEEN', 'OR with one key'],
    ['()', 'empty group'],
    ['KEYWORD', 'missing keyword'],
    ['KEYWORD "x"', 'keyword as string'],
    ['MODSEQ', 'missing modseq'],
    ['MODSEQ abc', 'bad modseq'],
    ['MODSEQ 9223372036854775808', 'modseq above 2^63-1'],
    ['MODSEQ "/flags/\\\\seen" foo 5', 'bad entry type'],
    ['RETURN (FOO) ALL', 'unknown return option'],
    ['RETURN MIN ALL', 'RETURN without list'],
    ['"SEEN"', 'string as key'],
  ])('refuses %j (%s) with SearchSyntaxError', (text) => {
    // Prepare
    const input = args(text);

    // Act
    const act = () => parseSearch(input, { utf8Accepted: false });

    // Assess
    expect(act).toThrow(SearchSyntaxError);
  });

  it('refuses a literal that is not UTF-8', () => {
    // Prepare
    const koi8 = Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]); // "Привет" in KOI8-R

    // Act
    const act = () => parseSearch(args('CHARSET UTF-8 BODY {L}', [koi8]), { utf8Accepted: false });

    // Assess
    expect(act).toThrow(SearchSyntaxError);
  });

  it('refuses absurd nesting with SearchSyntaxError, not a stack overflow', () => {
    // Prepare
    const deepNot = args(`${'NOT '.repeat(100_000)}SEEN`);
    let deepList: ImapArg[] = [{ type: 'atom', value: 'SEEN' }];
    for (let i = 0; i < 100_000; i++) deepList = [{ type: 'list', items: deepList }];

    // Act
    const actNot = () => parseSearch(deepNot, { utf8Accepted: false });
    const actList = () => parseSearch(deepList, { utf8Accepted: false });

    // Assess
    expect(actNot).toThrow(SearchSyntaxError);
    expect(actList).toThrow(SearchSyntaxError);
    expect(() => query(`${'NOT '.repeat(MAX_SEARCH_DEPTH - 1)}SEEN`)).not.toThrow();
  });

  it('reads quoted dates and four-digit years below 1000 as written', () => {
    // Act
    const results = [
      parseSearchDate('1-Feb-1994'),
      parseSearchDate('29-feb-2024'),
      parseSearchDate('5-JAN-0099'),
    ];
    const quoted = query('SENTON "1-Feb-1994"');

    // Assess
    expect(results[0]).toBe(Date.UTC(1994, 1, 1));
    expect(results[1]).toBe(Date.UTC(2024, 1, 29));
    expect(new Date(results[2]!).getUTCFullYear()).toBe(99);
    expect(quoted).toEqual({ type: 'date', source: 'sent', op: 'on', day: Date.UTC(1994, 1, 1) });
  });

  it('tells whether a query uses MODSEQ', () => {
    // Act
    const results = [usesModseq(query('OR SEEN (NOT MODSEQ 5)')), usesModseq(query('SEEN UID 1:*'))];

    // Assess
    expect(results).toEqual([true, false]);
  });
});

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

describe('evaluateSearch', () => {
  it.each([
    ['SUBJECT привет', [1, 2]],
    ['SUBJECT ПРИВЕТ', [1, 2]],
    ['SUBJECT Привет', [1, 2]],
    ['BODY привет', [1, 3, 20]],
    ['BODY "ПРИВЕТ ВСЕМ"', [1]],
    ['TEXT москвы', [1]],
    ['FROM иван', [1]],
    ['FROM IVAN@EXAMPLE.RU', [1]],
    ['TO bob@example.test', Array.from({ length: 20 }, (_, i) => i + 1)],
    ['CC carol', [11]],
    ['BCC SECRET', [5]],
    ['SUBJECT οδος', [9]],
    ['SUBJECT ΟΔΟΣ', [9]],
    ['HEADER X-Spam ""', [4]],
    ['HEADER x-spam yes', [4]],
    ['HEADER List-Id NEWS.EXAMPLE', [13]],
    ['HEADER Subject ""', Array.from({ length: 20 }, (_, i) => i + 1)],
    ['HEADER Date ""', Array.from({ length: 20 }, (_, i) => i + 1).filter((n) => n !== 6)],
  ])('text: %s', async (text, expected) => {
    // Act
    const { seqs } = await run(text);

    // Assess
    expect(seqs).toEqual(expected);
  });

  it('finds "Body of 1" text in message 1 only (TEXT covers the body)', async () => {
    // Act
    const { seqs } = await run('TEXT "body of 1"');

    // Assess: message 1 has its own body; 10..19 say "Body of 10" etc.
    expect(seqs).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it.each([
    ['SEEN', [1, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20]],
    ['UNSEEN', [2, 3, 8, 18]],
    ['ANSWERED', [4, 12]],
    ['UNANSWERED DELETED', [8]],
    ['DRAFT', [8]],
    ['UNDRAFT UNDELETED UNSEEN', [2, 3, 18]],
    ['FLAGGED', [3]],
    ['UNFLAGGED UNSEEN', [2, 8, 18]],
    ['KEYWORD $important', [3]],
    ['KEYWORD work', [14]],
    ['UNKEYWORD Work SEEN ANSWERED', [4, 12]],
    ['RECENT', [3, 9, 17, 18]],
    ['NEW', [3, 18]],
    ['OLD UNSEEN', [2, 8]],
    ['MODSEQ 300', [10, 19, 20]],
    ['MODSEQ "/flags/\\\\seen" all 501', [20]],
    ['MODSEQ 9007199254740993', []],
    ['LARGER 1900', [10, 20]],
    ['SMALLER 300', [1, 2]],
    ['LARGER 100 SMALLER 400', [2, 3]],
  ])('flags, sizes, modseq: %s', async (text, expected) => {
    // Act
    const { seqs, calls } = await run(text);

    // Assess
    expect(seqs).toEqual(expected);
    expect(calls).toEqual([]);
  });

  it.each([
    ['BEFORE 3-Jan-2024', [1, 2]],
    ['ON 3-Jan-2024', [3]],
    ['SINCE 19-Jan-2024', [19, 20]],
    ['SINCE 2-Jan-2024 BEFORE 4-Jan-2024', [2, 3]],
    ['SENTON 1-Feb-1994', [7]],
    ['SENTON 2-Feb-1994', []],
    ['SENTBEFORE 2-Jan-2024', [1, 7]],
    ['NOT SENTBEFORE 19-Jan-2024', [6, 19, 20]],
    ['SENTSINCE 20-Jan-2024', [20]],
  ])('dates: %s', async (text, expected) => {
    // Act
    const { seqs } = await run(text);

    // Assess
    expect(seqs).toEqual(expected);
  });

  it.each([
    ['1:3,5', [1, 2, 3, 5]],
    ['*', [20]],
    ['19:*', [19, 20]],
    ['3:1 SEEN', [1]],
    ['25:30', []],
    ['UID 150:*', [15, 16, 17, 18, 19, 20]],
    ['UID *', [20]],
    ['UID 1000:*', [20]],
    ['UID 10,30,151', [1, 3, 15]],
    ['UID 1:4294967295 UNSEEN', [2, 3, 8, 18]],
  ])('numbers: %s', async (text, expected) => {
    // Act
    const { seqs } = await run(text);

    // Assess
    expect(seqs).toEqual(expected);
  });

  it('reads $ as the saved UIDs, for UID and as a sequence set', async () => {
    // Act
    const asUid = await run('UID $', { saved: [20, 40, 160] });
    const asSet = await run('$ SEEN', { saved: [20, 40, 160] });
    const nothingSaved = await run('$');

    // Assess
    expect(asUid.seqs).toEqual([2, 4, 16]);
    expect(asSet.seqs).toEqual([4, 16]);
    expect(nothingSaved.seqs).toEqual([]);
  });

  it('combines OR, NOT and groups', async () => {
    // Act
    const { seqs } = await run('OR (FROM иван SUBJECT москв) NOT SEEN');

    // Assess
    expect(seqs).toEqual([1, 2, 3, 8, 18]);
  });

  it('finds a UTF-8 literal under CHARSET UTF-8 in a message that arrived in KOI8-R', async () => {
    // Act
    const { seqs } = await run('CHARSET UTF-8 BODY {L}', {}, [Buffer.from('KOI8-R, УЖЕ', 'utf8')]);

    // Assess
    expect(seqs).toEqual([2]);
  });

  it('loads no text when cheap keys decide every message', async () => {
    // Act
    const results = await Promise.all([
      run('SEEN UNSEEN BODY x'),
      run('OR SEEN ALL'),
      run('UID 5000:6000 TEXT x'),
      run('OR ALL BODY x'),
      run('NOT OR ALL BODY x'),
      run('BCC secret UNSEEN'),
    ]);

    // Assess
    for (const r of results) expect(r.calls).toEqual([]);
    expect(results[0]!.seqs).toEqual([]);
    expect(results[3]!.seqs).toHaveLength(20);
    expect(results[4]!.seqs).toEqual([]);
  });

  it('loads text only for messages that cheaper keys did not exclude, whatever the key order', async () => {
    // Act
    const bodyFirst = await run('BODY hello FLAGGED');
    const orSeen = await run('OR BODY hello SEEN');
    const subjectFirst = await run('TEXT x SUBJECT Meeting');

    // Assess
    expect(bodyFirst.calls).toEqual([30]);
    expect(bodyFirst.seqs).toEqual([3]);
    expect(orSeen.calls.sort((a, b) => a - b)).toEqual([20, 30, 80, 175]);
    expect(orSeen.seqs).toEqual([1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20]);
    expect(subjectFirst.calls.sort((a, b) => a - b)).toEqual([110, 120]);
  });

  it('loads each message at most once however many text keys there are', async () => {
    // Act
    const { seqs, calls } = await run('TEXT a BODY e HEADER From alice OR BCC x TEXT "example.net"');

    // Assess
    expect(calls).toHaveLength(20);
    expect(new Set(calls).size).toBe(20);
    expect(seqs).toEqual([3, 9]);
  });

  it('skips loading for BCC when the message has no Bcc field', async () => {
    // Act
    const { seqs, calls } = await run('BCC secret');

    // Assess
    expect(seqs).toEqual([5]);
    expect(calls).toEqual([50]);
  });

  it('keeps at most `concurrency` loads in flight and returns seqs in order', async () => {
    // Prepare
    const built = mailbox();
    let inFlight = 0;
    let peak = 0;
    const ctx: SearchContext = {
      maxSeq: 20,
      maxUid: 200,
      concurrency: 3,
      async loadText(uid) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, (uid * 7) % 5));
        inFlight--;
        return built.texts.get(uid)!;
      },
    };

    // Act
    const seqs = await evaluateSearch(query('BODY "body of"'), [...built.candidates].reverse(), ctx);

    // Assess
    expect(peak).toBe(3);
    expect(seqs).toEqual([4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('rejects when loading a text fails', async () => {
    // Prepare
    const built = mailbox();
    const ctx: SearchContext = {
      maxSeq: 20,
      maxUid: 200,
      loadText: async (uid) => {
        if (uid === 30) throw new Error('blob store down');
        return built.texts.get(uid)!;
      },
    };

    // Act
    const act = evaluateSearch(query('BODY x'), built.candidates, ctx);

    // Assess
    await expect(act).rejects.toThrow('blob store down');
  });

  it('answers an empty mailbox with nothing and loads nothing', async () => {
    // Prepare
    const loadText = vi.fn();

    // Act
    const seqs = await evaluateSearch(query('UID 1:* BODY x'), [], { maxSeq: 0, maxUid: 0, loadText });

    // Assess
    expect(seqs).toEqual([]);
    expect(loadText).not.toHaveBeenCalled();
  });
});

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

describe('ESEARCH results', () => {
  it('formats MIN, MAX, COUNT and ALL, and only COUNT for no match', () => {
    // Act
    const some = formatEsearchData([2, 3, 4, 9], ['ALL', 'MIN', 'MAX', 'COUNT']);
    const none = formatEsearchData([], ['ALL', 'MIN', 'MAX', 'COUNT']);
    const withModseq = formatEsearchData([7], ['MIN'], 917);

    // Assess
    expect(some).toBe('MIN 2 MAX 9 COUNT 4 ALL 2:4,9');
    expect(none).toBe('COUNT 0');
    expect(withModseq).toBe('MIN 7 MODSEQ 917');
  });

  it('saves what RFC 5182 §2.4 says for SAVE with MIN/MAX', () => {
    // Prepare
    const uids = [3, 5, 8];

    // Act
    const results = [
      resultToSave(uids, ['SAVE']),
      resultToSave(uids, ['SAVE', 'MIN']),
      resultToSave(uids, ['SAVE', 'MAX']),
      resultToSave(uids, ['SAVE', 'MIN', 'MAX']),
      resultToSave(uids, ['SAVE', 'MIN', 'COUNT']),
      resultToSave([], ['SAVE', 'MIN']),
    ];

    // Assess
    expect(results).toEqual([[3, 5, 8], [3], [8], [3, 8], [3, 5, 8], []]);
  });
});
