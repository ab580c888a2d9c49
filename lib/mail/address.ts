import { MAX_ENVELOPE_ADDRESSES } from './limits.js';
import type { EnvelopeAddress } from './types.js';

/**
 * Address lists (RFC 5322 §3.4, with the obsolete forms of §4.4) parsed into the ENVELOPE
 * address structure of RFC 3501 §7.4.2: name, adl (source route), mailbox, host.
 *
 * Choices, where the RFCs leave room:
 * - name is the display phrase with quoted strings unquoted, words joined by one space and
 *   RFC 2047 encoded words left encoded; without a phrase, the last comment is the name
 *   (`jdoe@example.com (John Doe)`), as Dovecot and nodemailer's addressparser do.
 * - mailbox is the local part as written, quoted strings keeping their quotes, so that
 *   `mailbox@host` is again a valid address (Dovecot unquotes it; that loses information).
 * - an address without `@` gets host "" (not NIL: NIL host means group syntax).
 * - a group is a start marker (mailbox = group name, host NIL), its members, and an end
 *   marker (all NIL); `undisclosed-recipients:;` is just the two markers.
 */

type Token =
  | { kind: 'atom'; text: string; space: boolean }
  | { kind: 'quoted'; text: string; raw: string; space: boolean }
  | { kind: 'literal'; text: string; space: boolean }
  | { kind: 'comment'; text: string; space: boolean }
  | { kind: 'special'; text: string; space: boolean };

const SPECIALS = '<>@,;:.';

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let space = false;
  while (i < s.length) {
    const c = s.charAt(i);
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      space = true;
      i += 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      let from = j;
      while (j < s.length && s.charAt(j) !== '"') {
        if (s.charAt(j) === '\\') {
          text += s.slice(from, j);
          from = j + 1;
          j += 2;
        } else j += 1;
      }
      const stop = Math.min(j, s.length);
      text += s.slice(from, stop);
      tokens.push({ kind: 'quoted', text, raw: s.slice(i, Math.min(j + 1, s.length)), space });
      space = false;
      i = j + 1;
    } else if (c === '(') {
      let j = i;
      let depth = 0;
      while (j < s.length) {
        const d = s.charAt(j);
        if (d === '\\') {
          j += 2;
          continue;
        }
        j += 1;
        if (d === '(') depth += 1;
        else if (d === ')' && --depth === 0) break;
      }
      const text = s
        .slice(i + 1, depth === 0 ? j - 1 : j)
        .replace(/\\(.)/g, '$1')
        .trim();
      tokens.push({ kind: 'comment', text, space });
      space = true; // a comment separates words like white space does
      i = j;
    } else if (c === '[') {
      const close = s.indexOf(']', i + 1);
      const j = close === -1 ? s.length : close + 1;
      tokens.push({ kind: 'literal', text: s.slice(i, j), space });
      space = false;
      i = j;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ kind: 'special', text: c, space });
      space = false;
      i += 1;
    } else {
      let j = i + 1;
      while (j < s.length) {
        const d = s.charAt(j);
        if (
          d === ' ' ||
          d === '\t' ||
          d === '\r' ||
          d === '\n' ||
          d === '"' ||
          d === '(' ||
          d === '[' ||
          SPECIALS.includes(d)
        )
          break;
        j += 1;
      }
      tokens.push({ kind: 'atom', text: s.slice(i, j), space });
      space = false;
      i = j;
    }
  }
  return tokens;
}

/** Display phrase: words joined as written (one space where there was white space), quotes removed. */
function phrase(tokens: Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    const text = t.text;
    if (out !== '' && t.space) out += ' ';
    out += text;
  }
  return out.trim();
}

/** An addr-spec or route as written, white space and comments dropped, quoted strings kept quoted. */
function verbatim(tokens: Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    out += t.kind === 'quoted' ? t.raw : t.text;
  }
  return out;
}

function lastComment(tokens: Token[]): string | null {
  for (let k = tokens.length - 1; k >= 0; k--) {
    const t = tokens[k];
    if (t?.kind === 'comment' && t.text !== '') return t.text;
  }
  return null;
}

function isSpecial(t: Token | undefined, c: string): boolean {
  return t !== undefined && t.kind === 'special' && t.text === c;
}

/** Splits an addr-spec into local part and domain at the last `@`. */
function addrSpec(tokens: Token[]): { mailbox: string; host: string } {
  let at = -1;
  for (let k = tokens.length - 1; k >= 0; k--) {
    if (isSpecial(tokens[k], '@')) {
      at = k;
      break;
    }
  }
  if (at === -1) {
    // no domain: keep what there is as the mailbox (words separated by one space)
    const words = tokens.filter((t) => t.kind !== 'comment');
    let out = '';
    for (const t of words) {
      if (out !== '' && t.space) out += ' ';
      out += t.kind === 'quoted' ? t.raw : t.text;
    }
    return { mailbox: out, host: '' };
  }
  return { mailbox: verbatim(tokens.slice(0, at)), host: verbatim(tokens.slice(at + 1)) };
}

/** One mailbox (`name-addr` or `addr-spec`) from its tokens, or null when there is nothing in it. */
function mailbox(tokens: Token[]): EnvelopeAddress | null {
  const open = tokens.findIndex((t) => isSpecial(t, '<'));
  if (open !== -1) {
    let close = tokens.findIndex((t, k) => k > open && isSpecial(t, '>'));
    if (close === -1) close = tokens.length;
    const before = tokens.slice(0, open);
    const inside = tokens.slice(open + 1, close);
    const after = tokens.slice(close + 1);
    let name: string | null = phrase(before);
    if (name === '') name = lastComment([...before, ...after]);
    // obs-route: "@a,@b:" before the addr-spec
    let adl: string | null = null;
    let spec = inside;
    const colon = inside.findIndex((t) => isSpecial(t, ':'));
    if (
      colon !== -1 &&
      isSpecial(
        inside.find((t) => t.kind !== 'comment'),
        '@',
      )
    ) {
      adl = verbatim(inside.slice(0, colon)) || null;
      spec = inside.slice(colon + 1);
    }
    const real = spec.filter((t) => t.kind !== 'comment');
    if (real.length === 0 && name === null) return null;
    const { mailbox: local, host } = real.length === 0 ? { mailbox: '', host: '' } : addrSpec(spec);
    return { name, adl, mailbox: local, host };
  }
  const real = tokens.filter((t) => t.kind !== 'comment');
  if (real.length === 0) return null;
  const { mailbox: local, host } = addrSpec(tokens);
  return { name: lastComment(tokens), adl: null, mailbox: local, host };
}

/**
 * Parses an address list header value (already unfolded; 8-bit octets already decoded) into
 * ENVELOPE addresses. Returns null when there is no address at all (ENVELOPE NIL). Never
 * throws; tolerates missing `;` after a group, missing `>`, stray specials.
 */
export function parseAddressList(value: string): EnvelopeAddress[] | null {
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let current: Token[] = [];
  let inAngle = false;
  let inGroup = false;

  let groupOpen = false; // a start marker was emitted, so its end marker must be too
  const push = (a: EnvelopeAddress): boolean => {
    if (out.length >= MAX_ENVELOPE_ADDRESSES) return false;
    out.push(a);
    return true;
  };
  const endGroup = (): void => {
    if (groupOpen) out.push({ name: null, adl: null, mailbox: null, host: null });
    groupOpen = false;
    inGroup = false;
  };
  const flush = (): void => {
    const a = mailbox(current);
    if (a !== null) push(a);
    current = [];
  };

  for (const t of tokens) {
    if (t.kind === 'special') {
      if (t.text === '<') inAngle = true;
      else if (t.text === '>') inAngle = false;
      else if (!inAngle && t.text === ',') {
        flush();
        continue;
      } else if (!inAngle && t.text === ':' && !inGroup) {
        // group start: display-name ":" (RFC 5322 §3.4)
        groupOpen = push({ name: null, adl: null, mailbox: phrase(current), host: null });
        current = [];
        inGroup = true;
        continue;
      } else if (!inAngle && t.text === ';') {
        // group end; outside a group a ';' is a separator some clients use instead of ','
        flush();
        if (inGroup) endGroup();
        continue;
      }
    }
    current.push(t);
  }
  flush();
  if (inGroup) endGroup();
  return out.length === 0 ? null : out;
}
