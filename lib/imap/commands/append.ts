import { toCrlf } from '../../mail/line-endings.js';
import { AUTHENTICATED, type CommandSpec } from '../command.js';
import { list, noMore } from '../args.js';
import { bad, no } from '../errors.js';
import { APPEND_LIMIT } from '../limits.js';
import type { ImapSession } from '../session.js';
import type { ImapArg, ImapString } from '../types.js';
import { parseMessage } from '../../mail/parse.js';
import { newQueueId, rawBlobKey } from '../../smtp/ids.js';
import { mailboxArg, show, storeFailure } from './mailboxes.js';

/** RFC 3501 §2.3.2 system flags that a client may set, by lower case. */
const SYSTEM_FLAGS = new Map(
  ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'].map((f) => [f.toLowerCase(), f]),
);
/** RFC 3501 §9 flag-keyword: an atom (no atom-specials `(){ %*"\]`, CTL, SP or 8-bit). */
const KEYWORD = /^[\x21\x23\x24\x26\x27\x2b-\x5b\x5e-\x7a\x7c-\x7e]{1,255}$/;

/** The flag list of APPEND; \Recent cannot be set by a client (RFC 3501 §2.3.2) and is dropped. */
function parseFlags(items: ImapArg[]): string[] {
  const flags: string[] = [];
  for (const item of items) {
    if (item.type !== 'atom') throw bad('Flags must be atoms');
    const lower = item.value.toLowerCase();
    if (lower === '\\recent') continue;
    const system = SYSTEM_FLAGS.get(lower);
    if (system) flags.push(system);
    else if (item.value.startsWith('\\')) throw bad(`Invalid flag ${item.value.slice(0, 40)}`);
    else if (KEYWORD.test(item.value)) flags.push(item.value);
    else throw bad('Invalid keyword');
  }
  return flags;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** RFC 3501 §9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", the day may be " d" (and, leniently, "d"). */
const DATE_TIME = /^( ?\d|\d\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/;

/** The INTERNALDATE of an APPEND, in ms since the epoch; BAD when it is not a valid date-time. */
export function parseDateTime(text: string): number {
  const m = DATE_TIME.exec(text);
  const month = m ? MONTHS.indexOf(m[2]!.toLowerCase()) : -1;
  if (!m || month < 0) throw bad('Invalid date-time, expected "dd-Mon-yyyy hh:mm:ss +zzzz"');
  const field = (i: number) => Number(m[i]);
  const [day, year, hour, minute, second] = [field(1), field(3), field(4), field(5), field(6)];
  const [zoneHours, zoneMinutes] = [field(8), field(9)];
  // Date.UTC would take years 0-99 as 1900-1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month + 1, 0);
  const daysInMonth = date.getUTCDate();
  // Seconds may be 60: a leap second (RFC 5322 §3.3).
  const valid = year > 0 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60;
  if (!valid || zoneHours > 23 || zoneMinutes > 59) throw bad('Invalid date-time');
  date.setUTCFullYear(year, month, day);
  const utc = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
  const offset = (m[7] === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * 60_000;
  return utc - offset;
}

/** The message: a literal (or literal8, RFC 3516), or RFC 6855 §4 `UTF8 (<literal8>)`. */
function messageArg(args: ImapArg[], i: number): ImapString {
  const arg = args[i];
  if (arg?.type === 'string') return arg;
  if (arg?.type === 'atom' && arg.value.toUpperCase() === 'UTF8') {
    const items = list(args[i + 1], 'UTF8 message');
    const only = items[0];
    if (items.length === 1 && only?.type === 'string') return only;
    throw bad('UTF8 takes one literal in parentheses');
  }
  throw bad('APPEND needs the message as a literal');
}

/** Stores the raw bytes in the BlobStore, then the parsed message in the mailbox; returns the APPENDUID data. */
async function appendTo(
  session: ImapSession,
  name: string,
  literal: Buffer,
  flags: string[],
  internalDate: number,
) {
  const account = session.account!;
  // Stored with CRLF line ends, so RFC822.SIZE is what FETCH sends (lib/mail/line-endings.ts).
  const raw = toCrlf(literal);
  if (raw.length > APPEND_LIMIT) throw no(`Message larger than APPENDLIMIT ${APPEND_LIMIT}`, 'TOOBIG');
  if (raw.length === 0) throw no('An empty message cannot be appended', 'CANNOT');
  // RFC 3501 §6.3.11: a missing target is NO [TRYCREATE], so the client can CREATE and retry.
  const box = await session.deps.store.getMailbox(account, name);
  if (!box) throw no(`No mailbox ${show(name)}`, 'TRYCREATE');

  const blobKey = rawBlobKey(newQueueId(), new Date());
  await session.deps.blobs.put(blobKey, raw);
  try {
    const parsed = await parseMessage(raw);
    const result = await session.deps.store.appendMessage(account, box.name, {
      blobKey,
      size: raw.length,
      internalDate,
      flags,
      structure: parsed.structure,
      summary: parsed.summary,
      headerText: parsed.headerText,
      bodyText: parsed.bodyText,
    });
    // Deleted and created again meanwhile: the UIDVALIDITY read above is not this mailbox's.
    let uidValidity = box.uidValidity;
    if (result.mailboxId !== box.id) {
      uidValidity = (await session.deps.store.getMailbox(account, box.name))?.uidValidity ?? uidValidity;
    }
    session.deps.notifier.touch(account, box.name);
    return { uidValidity, uid: result.uid };
  } catch (err) {
    await session.deps.blobs.delete(blobKey).catch(() => undefined);
    throw storeFailure(session, err, name, 'TRYCREATE');
  }
}

/**
 * APPEND (RFC 3501 §6.3.11): `APPEND <mailbox> [(<flags>)] ["<date-time>"] <literal>`, answered
 * with APPENDUID (RFC 4315 §3). The literal may be {n}, {n+} (LITERAL+, RFC 7888), ~{n}
 * (BINARY, RFC 3516) or UTF8 (~{n}) (RFC 6855 §4); the framer refuses one above APPENDLIMIT
 * (RFC 7889) with NO [TOOBIG] before it is sent. If the target is the selected mailbox, the
 * dispatcher's sync announces the new message (EXISTS) after this command.
 */
export const append: CommandSpec = {
  name: 'APPEND',
  states: AUTHENTICATED,
  async handle({ session, args }) {
    const name = mailboxArg(session, args[0]);
    let i = 1;
    let flags: string[] = [];
    const flagArg = args[i];
    if (flagArg?.type === 'list') {
      flags = parseFlags(flagArg.items);
      i++;
    }
    // RFC 3501 §6.3.11: the current date and time unless the client gives one.
    let internalDate = Date.now();
    const dateArg = args[i];
    if (dateArg?.type === 'string' && !dateArg.literal) {
      internalDate = parseDateTime(dateArg.value.toString('latin1'));
      i++;
    }
    const message = messageArg(args, i);
    noMore(args, args[i]?.type === 'atom' ? i + 2 : i + 1, 'APPEND');
    const { uidValidity, uid } = await appendTo(session, name, message.value, flags, internalDate);
    return { code: `APPENDUID ${uidValidity} ${uid}`, text: 'APPEND completed' };
  },
};
