import { AUTHENTICATED, type CommandContext, type CommandSpec } from '../command.js';
import { astring as astringArg, atom, list, noMore } from '../args.js';
import { bad } from '../errors.js';
import { decodeMailboxName } from '../mailbox-name.js';
import type { ImapSession } from '../session.js';
import type { ImapArg } from '../types.js';
import type { Mailbox } from '../../store/types.js';
import { DELIMITER, mailboxWire } from './mailboxes.js';
import { parseStatusItems, statusResponse, type StatusItem } from './status.js';

/*
 * LIST (RFC 3501 §6.3.8) with LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS
 * (RFC 5819) and CHILDREN (RFC 3348), and LSUB (RFC 3501 §6.3.9). One listMailboxes query,
 * then matching in memory.
 *
 * The store keeps no parents: "a/b" may exist without "a". Such a parent is still a level
 * of the hierarchy, listed as `\Noselect \HasChildren` by basic LIST (RFC 3501 §6.3.8) and as
 * `\NonExistent \HasChildren` by extended LIST (RFC 5258 §3: \NonExistent implies \Noselect),
 * as Dovecot does. \HasChildren / \HasNoChildren and special-use attributes are always sent
 * (RFC 3348 §3, RFC 5258 §4 and RFC 6154 §2 let a server send them unasked).
 */

interface Selection {
  subscribed: boolean;
  specialUse: boolean;
  recursiveMatch: boolean;
}

interface Returns {
  subscribed: boolean;
  status?: StatusItem[];
}

interface ListRequest {
  lsub: boolean;
  /** LIST-EXTENDED syntax was used (selection options, several patterns or RETURN). */
  extended: boolean;
  selection: Selection;
  returns: Returns;
  /** Reference + pattern (RFC 3501 §6.3.8), decoded; empty patterns left out. */
  patterns: Pattern[];
  /** An empty pattern asked for the delimiter (`LIST "" ""`). */
  delimiterOnly: boolean;
}

/** A canonical pattern, wildcards collapsed ("**", "%*", "*%" are "*"; "%%" is "%"). */
interface Pattern {
  units: string[];
  /** Characters that are not wildcards: a name shorter than this cannot match. */
  literals: number;
  endsWithPercent: boolean;
}

function compilePattern(raw: string): Pattern {
  const units: string[] = [];
  let literals = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    const last = units[units.length - 1];
    if ((c === '*' || c === '%') && (last === '*' || last === '%')) {
      if (c === '*') units[units.length - 1] = '*';
      continue;
    }
    if (c !== '*' && c !== '%') literals++;
    units.push(c);
  }
  return { units, literals, endsWithPercent: units[units.length - 1] === '%' };
}

function asciiUpper(c: string): string {
  return c >= 'a' && c <= 'z' ? c.toUpperCase() : c;
}

/**
 * Whether the pattern matches the whole name: `*` matches anything, `%` anything but the
 * delimiter (RFC 3501 §6.3.8). INBOX is case-insensitive (RFC 3501 §5.1), also as the first
 * level of its children. Dynamic programming over (pattern, name): O(pattern × name) whatever
 * the wildcards, where a backtracking regex could take exponential time on hostile patterns.
 */
function matchesPattern(pattern: Pattern, name: string): boolean {
  const n = name.length;
  if (pattern.literals > n) return false;
  const fold = name === 'INBOX' || name.startsWith(`INBOX${DELIMITER}`) ? 5 : 0;
  let row = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  row[0] = 1;
  for (const c of pattern.units) {
    let any = 0;
    if (c === '*' || c === '%') {
      next[0] = row[0]!;
      for (let j = 1; j <= n; j++) {
        next[j] = row[j]! | (next[j - 1]! & (c === '*' || name[j - 1] !== DELIMITER ? 1 : 0));
        any |= next[j]!;
      }
      any |= next[0]!;
    } else {
      next[0] = 0;
      for (let j = 1; j <= n; j++) {
        const ch = name[j - 1]!;
        const same = ch === c || (j - 1 < fold && asciiUpper(c) === ch);
        next[j] = same ? row[j - 1]! : 0;
        any |= next[j]!;
      }
    }
    if (!any) return false;
    [row, next] = [next, row];
  }
  return row[n] === 1;
}

/** The names above "a/b/c": "a", "a/b". */
function ancestors(name: string): string[] {
  const out: string[] = [];
  for (let i = name.indexOf(DELIMITER); i > 0; i = name.indexOf(DELIMITER, i + 1)) out.push(name.slice(0, i));
  return out;
}

function parseSelection(items: ImapArg[]): Selection {
  const selection: Selection = { subscribed: false, specialUse: false, recursiveMatch: false };
  for (const item of items) {
    const option = atom(item, 'LIST selection option');
    if (option === 'SUBSCRIBED') selection.subscribed = true;
    else if (option === 'SPECIAL-USE') selection.specialUse = true;
    else if (option === 'RECURSIVEMATCH') selection.recursiveMatch = true;
    // No remote mailboxes here: REMOTE lists the same (RFC 5258 §3.1).
    else if (option !== 'REMOTE') throw bad(`Unknown LIST selection option ${option}`);
  }
  // RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE only) is an error.
  if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) {
    throw bad('RECURSIVEMATCH needs another selection option');
  }
  return selection;
}

function parseReturns(session: ImapSession, items: ImapArg[], returns: Returns): void {
  for (let i = 0; i < items.length; i++) {
    const option = atom(items[i], 'LIST return option');
    if (option === 'SUBSCRIBED') returns.subscribed = true;
    else if (option === 'STATUS') returns.status = parseStatusItems(session, items[++i]);
    // Always sent; accepted so that a client may ask (RFC 5258 §4, RFC 6154 §2).
    else if (option !== 'CHILDREN' && option !== 'SPECIAL-USE')
      throw bad(`Unknown LIST return option ${option}`);
  }
}

function parseRequest(ctx: CommandContext, lsub: boolean): ListRequest {
  const { session, args } = ctx;
  const utf8 = session.enabled.utf8;
  let i = 0;
  let extended = false;
  let selection: Selection = { subscribed: false, specialUse: false, recursiveMatch: false };
  const returns: Returns = { subscribed: false };
  if (!lsub && args[0]?.type === 'list') {
    selection = parseSelection(args[0].items);
    extended = true;
    i++;
  }
  const reference = decodeMailboxName(astringArg(args[i++], 'reference name'), utf8);
  const patternArg = args[i++];
  let raw: string[];
  if (!lsub && patternArg?.type === 'list') {
    if (patternArg.items.length === 0) throw bad('LIST needs at least one pattern');
    raw = patternArg.items.map((item) => astringArg(item, 'mailbox pattern'));
    extended = true;
  } else {
    raw = [astringArg(patternArg, 'mailbox pattern')];
  }
  if (!lsub && args[i]) {
    if (atom(args[i], 'RETURN') !== 'RETURN') throw bad('Expected RETURN after the LIST patterns');
    parseReturns(session, list(args[i + 1], 'LIST return options'), returns);
    extended = true;
    i += 2;
  }
  noMore(args, i, lsub ? 'LSUB' : 'LIST');
  // RFC 5258 §3.1: the SUBSCRIBED selection option implies the SUBSCRIBED return option.
  if (selection.subscribed) returns.subscribed = true;

  const patterns: Pattern[] = [];
  let delimiterOnly = false;
  for (const text of raw) {
    if (text === '') {
      delimiterOnly = true;
      continue;
    }
    const pattern = decodeMailboxName(text, utf8);
    // RFC 3501 §6.3.8: the pattern is taken after the reference, unless it is absolute.
    patterns.push(compilePattern(pattern.startsWith(DELIMITER) ? pattern : reference + pattern));
  }
  return { lsub, extended, selection, returns, patterns, delimiterOnly };
}

function meetsSelection(request: ListRequest, box: Mailbox): boolean {
  const { selection } = request;
  if (request.lsub) return box.subscribed;
  return (!selection.subscribed || box.subscribed) && (!selection.specialUse || box.specialUse !== null);
}

async function runList(ctx: CommandContext, lsub: boolean) {
  const { session } = ctx;
  const request = parseRequest(ctx, lsub);
  const verb = lsub ? 'LSUB' : 'LIST';
  if (request.delimiterOnly && !lsub) session.send(`* LIST (\\Noselect) "${DELIMITER}" ""`);
  if (request.patterns.length === 0) return { text: `${verb} completed` };

  const boxes = await session.deps.store.listMailboxes(session.account!);
  const byName = new Map(boxes.map((box) => [box.name, box]));
  const parents = new Set<string>();
  for (const box of boxes) for (const parent of ancestors(box.name)) parents.add(parent);
  const names = [...new Set([...byName.keys(), ...parents])].sort((a, b) =>
    a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const matching = (name: string) => request.patterns.filter((p) => matchesPattern(p, name));

  // Names with a descendant that meets the selection but matches no pattern: RECURSIVEMATCH
  // reports them with CHILDINFO (RFC 5258 §3.5), LSUB with \Noselect after "%" (RFC 3501 §6.3.9).
  const hasChildMatch = new Set<string>();
  const filtered = request.selection.subscribed || request.selection.specialUse;
  if (lsub || request.selection.recursiveMatch) {
    for (const box of boxes) {
      if (!meetsSelection(request, box) || matching(box.name).length > 0) continue;
      for (const parent of ancestors(box.name)) hasChildMatch.add(parent);
    }
  }
  const childInfo = [
    ...(request.selection.subscribed ? ['"SUBSCRIBED"'] : []),
    ...(request.selection.specialUse ? ['"SPECIAL-USE"'] : []),
  ].join(' ');

  for (const name of names) {
    const patterns = matching(name);
    if (patterns.length === 0) continue;
    const box = byName.get(name);
    const meets = box !== undefined && meetsSelection(request, box);
    const childMatch = hasChildMatch.has(name);

    if (lsub) {
      if (meets) session.send(['* LSUB () "/" ', ...mailboxWire(session, name)]);
      else if (childMatch && patterns.some((p) => p.endsWithPercent)) {
        session.send(['* LSUB (\\Noselect) "/" ', ...mailboxWire(session, name)]);
      }
      continue;
    }

    if (filtered && !meets && !(request.selection.recursiveMatch && childMatch)) continue;
    const attributes: string[] = [];
    if (!box) attributes.push(request.extended ? '\\NonExistent' : '\\Noselect');
    if (request.returns.subscribed && box?.subscribed) attributes.push('\\Subscribed');
    attributes.push(parents.has(name) ? '\\HasChildren' : '\\HasNoChildren');
    if (box?.specialUse) attributes.push(box.specialUse);
    const extra = request.selection.recursiveMatch && childMatch ? ` ("CHILDINFO" (${childInfo}))` : '';
    session.send([`* LIST (${attributes.join(' ')}) "${DELIMITER}" `, ...mailboxWire(session, name), extra]);
    // RFC 5819 §2: STATUS right after the mailbox's LIST, and never for a \NonExistent one.
    if (request.returns.status && box) session.send(statusResponse(session, box, request.returns.status));
  }
  return { text: `${verb} completed` };
}

export const listMailboxes: CommandSpec = {
  name: 'LIST',
  states: AUTHENTICATED,
  handle: (ctx) => runList(ctx, false),
};

/** LSUB (RFC 3501 §6.3.9): the subscribed names; IMAP4rev2 replaces it with LIST (SUBSCRIBED). */
export const lsub: CommandSpec = {
  name: 'LSUB',
  states: AUTHENTICATED,
  handle: (ctx) => runList(ctx, true),
};
