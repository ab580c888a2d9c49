/*
 * Validation and normalization of what callers hand the store: domain names, addresses,
 * route matches, mailbox names, flags and route actions. Shared by every adapter (SQLite,
 * DynamoDB), so both accept and refuse exactly the same input.
 */
import { InvalidArgumentError, InvalidNameError } from './errors.js';
import type { RouteAction, SpecialUse } from './types.js';

/** RFC 5321 §4.5.3.1.1 and §4.5.3.1.2. */
const MAX_LOCAL_PART = 64;
const MAX_DOMAIN = 255;
/** RFC 5321 §4.5.3.1.3 (256 for the path, less the angle brackets). */
const MAX_ADDRESS = 254;
const MAX_MAILBOX_NAME_BYTES = 1000;
const MAX_KEYWORD = 255;
/** Fits an SMTP reply line (RFC 5321 §4.5.3.1.5: 512 octets with the code and CRLF). */
const MAX_REJECT_MESSAGE = 400;

export const INBOX = 'INBOX';
export const HIERARCHY_DELIMITER = '/';

/** RFC 1035 §2.3.1 label: letters, digits, inner hyphens, 1..63 octets. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 5322 §3.2.3 dot-atom of atext (quoted local parts are not accepted). */
const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new InvalidNameError(`${what} must be a string, got ${show(value)}`);
  return value;
}

/** Lower-cases and checks a domain name: dot-separated RFC 1035 labels, at most 255 octets. */
export function normalizeDomain(name: string): string {
  const domain = requireString(name, 'domain').toLowerCase();
  if (domain.length === 0) throw new InvalidNameError('domain must not be empty');
  if (domain.length > MAX_DOMAIN)
    throw new InvalidNameError(`domain ${show(name)} is longer than ${MAX_DOMAIN} octets`);
  for (const label of domain.split('.')) {
    if (!LABEL.test(label)) {
      throw new InvalidNameError(
        `invalid domain ${show(name)}: label ${show(label)} must be 1-63 letters, digits or inner hyphens`,
      );
    }
  }
  return domain;
}

export interface ParsedAddress {
  address: string;
  local: string;
  domain: string;
}

function parseAddress(value: string, allowWildcard: boolean): ParsedAddress {
  const input = requireString(value, 'address');
  const lowered = input.toLowerCase();
  const at = lowered.indexOf('@');
  if (at < 0 || lowered.indexOf('@', at + 1) >= 0) {
    throw new InvalidNameError(`invalid address ${show(input)}: it must contain exactly one "@"`);
  }
  if (lowered.length > MAX_ADDRESS) {
    throw new InvalidNameError(`invalid address ${show(input)}: longer than ${MAX_ADDRESS} octets`);
  }
  const local = lowered.slice(0, at);
  if (local.length === 0) throw new InvalidNameError(`invalid address ${show(input)}: empty local part`);
  if (local.length > MAX_LOCAL_PART) {
    throw new InvalidNameError(
      `invalid address ${show(input)}: local part longer than ${MAX_LOCAL_PART} octets`,
    );
  }
  if (local === '*') {
    if (!allowWildcard) {
      throw new InvalidNameError(`invalid address ${show(input)}: "*" is reserved for catch-all routes`);
    }
  } else if (!DOT_ATOM.test(local)) {
    throw new InvalidNameError(`invalid address ${show(input)}: bad local part ${show(local)}`);
  }
  let domain: string;
  try {
    domain = normalizeDomain(lowered.slice(at + 1));
  } catch (err) {
    throw new InvalidNameError(`invalid address ${show(input)}: ${(err as Error).message}`, { cause: err });
  }
  return { address: `${local}@${domain}`, local, domain };
}

/** Lower-cases and checks an address (dot-atom local part ≤ 64, whole ≤ 254, one "@"). */
export function normalizeAddress(address: string): ParsedAddress {
  return parseAddress(address, false);
}

/** A route match: an address, or `*@domain` for the domain's catch-all. */
export function normalizeRouteMatch(match: string): ParsedAddress {
  return parseAddress(match, true);
}

/**
 * Checks a mailbox name and spells INBOX (and the first segment of its children) in
 * upper case: RFC 3501 §5.1 makes INBOX case-insensitive; every other name is kept as given.
 */
export function normalizeMailboxName(name: string): string {
  const input = requireString(name, 'mailbox name');
  if (input.length === 0) throw new InvalidNameError('mailbox name must not be empty');
  if (hasControl(input)) {
    throw new InvalidNameError(
      `invalid mailbox name ${show(input)}: control characters (NUL, CR, LF, ...) are not allowed`,
    );
  }
  if (Buffer.byteLength(input, 'utf8') > MAX_MAILBOX_NAME_BYTES) {
    throw new InvalidNameError(
      `invalid mailbox name ${show(input)}: longer than ${MAX_MAILBOX_NAME_BYTES} bytes`,
    );
  }
  if (input.startsWith(HIERARCHY_DELIMITER)) {
    throw new InvalidNameError(
      `invalid mailbox name ${show(input)}: it must not start with "${HIERARCHY_DELIMITER}"`,
    );
  }
  const segments = input.split(HIERARCHY_DELIMITER);
  if (segments.some((segment) => segment.length === 0)) {
    throw new InvalidNameError(`invalid mailbox name ${show(input)}: empty hierarchy level`);
  }
  if (segments[0]!.toUpperCase() === INBOX) segments[0] = INBOX;
  return segments.join(HIERARCHY_DELIMITER);
}

/** Like normalizeMailboxName, but returns undefined for a name that cannot exist. */
export function tryNormalizeMailboxName(name: string): string | undefined {
  try {
    return normalizeMailboxName(name);
  } catch {
    return undefined;
  }
}

/** Like normalizeDomain, but returns undefined for a domain that cannot exist. */
export function tryNormalizeDomain(name: string): string | undefined {
  try {
    return normalizeDomain(name);
  } catch {
    return undefined;
  }
}

/** Like normalizeAddress, but returns undefined for an address that cannot exist. */
export function tryNormalizeAddress(address: string): string | undefined {
  try {
    return normalizeAddress(address).address;
  } catch {
    return undefined;
  }
}

const SPECIAL_USES: readonly SpecialUse[] = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'];

export function checkSpecialUse(value: SpecialUse | undefined): SpecialUse | null {
  if (value === undefined) return null;
  if (!SPECIAL_USES.includes(value)) {
    throw new InvalidArgumentError(
      `unknown special use ${show(value)}; expected one of ${SPECIAL_USES.join(' ')}`,
    );
  }
  return value;
}

/** RFC 3501 §2.3.2 system flags in the order the store keeps them. */
export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
export const SEEN = '\\Seen';
const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((flag) => [flag.toLowerCase(), flag]));
/** RFC 3501 §9 atom: no atom-specials "(){ %*\"\\]", controls or non-ASCII. */
const KEYWORD = /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c-\x7e]+$/;

/**
 * Puts flags in the stored form: system flags in canonical case and order, then keywords as
 * first given, deduplicated case-insensitively (keywords are case-insensitive, RFC 3501
 * §2.3.2). \Recent is session state and never stored (RFC 9051 drops it altogether).
 */
export function normalizeFlags(flags: readonly string[]): string[] {
  if (!Array.isArray(flags)) throw new InvalidArgumentError(`flags must be an array, got ${show(flags)}`);
  const system = new Set<string>();
  const keywords = new Map<string, string>();
  for (const flag of flags) {
    if (typeof flag !== 'string') throw new InvalidArgumentError(`flag must be a string, got ${show(flag)}`);
    const lower = flag.toLowerCase();
    if (flag.startsWith('\\')) {
      if (lower === '\\recent') continue;
      const canonical = SYSTEM_BY_LOWER.get(lower);
      if (canonical === undefined) throw new InvalidArgumentError(`unknown system flag ${show(flag)}`);
      system.add(canonical);
    } else {
      if (flag.length > MAX_KEYWORD || !KEYWORD.test(flag)) {
        throw new InvalidArgumentError(`invalid keyword ${show(flag)}: it must be a non-empty IMAP atom`);
      }
      if (!keywords.has(lower)) keywords.set(lower, flag);
    }
  }
  return [...SYSTEM_FLAGS.filter((flag) => system.has(flag)), ...keywords.values()];
}

/** Same set of flags, compared case-insensitively. */
export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const lower = new Set(a.map((flag) => flag.toLowerCase()));
  return b.every((flag) => lower.has(flag.toLowerCase()));
}

/** Checks a route action and returns a normalized copy (addresses lower-cased, no extra fields). */
export function normalizeRouteAction(action: RouteAction): RouteAction {
  if (typeof action !== 'object' || action === null) {
    throw new InvalidArgumentError(`route action must be an object, got ${show(action)}`);
  }
  switch (action.type) {
    case 'deliver': {
      const account = normalizeAddress(action.account).address;
      return action.folder === undefined
        ? { type: 'deliver', account }
        : { type: 'deliver', account, folder: normalizeMailboxName(action.folder) };
    }
    case 'forward':
      return { type: 'forward', to: normalizeTargets(action.to, 'forward action') };
    case 'webhook': {
      let url: URL;
      try {
        url = new URL(action.url);
      } catch {
        throw new InvalidArgumentError(`invalid webhook url ${show(action.url)}`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new InvalidArgumentError(`invalid webhook url ${show(action.url)}: it must be http or https`);
      }
      // The secret is never echoed in an error message.
      if (typeof action.secret !== 'string')
        throw new InvalidArgumentError('webhook secret must be a string');
      return { type: 'webhook', url: action.url, secret: action.secret };
    }
    case 'drop':
      return { type: 'drop' };
    case 'reject': {
      if (action.message === undefined) return { type: 'reject' };
      // The message ends up in an SMTP reply: printable ASCII on one line only.
      if (
        typeof action.message !== 'string' ||
        action.message.length > MAX_REJECT_MESSAGE ||
        !/^[\x20-\x7e]*$/.test(action.message)
      ) {
        throw new InvalidArgumentError(
          `invalid reject message ${show(action.message)}: printable ASCII on one line, at most ${MAX_REJECT_MESSAGE} characters`,
        );
      }
      return { type: 'reject', message: action.message };
    }
    default:
      throw new InvalidArgumentError(
        `unknown route action type ${show((action as { type?: unknown }).type)}`,
      );
  }
}

/** At least one address, each checked and lower-cased, duplicates removed. */
export function normalizeTargets(targets: readonly string[], what: string): string[] {
  if (!Array.isArray(targets) || targets.length === 0) {
    throw new InvalidArgumentError(`${what} needs at least one target address`);
  }
  return [...new Set(targets.map((target) => normalizeAddress(target).address))];
}
