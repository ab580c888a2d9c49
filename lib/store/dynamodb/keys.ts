import { createHash } from 'node:crypto';

/*
 * Every key of the table, in one place (docs/dynamodb.md has the same list with the reasons).
 *
 *   pk                     sk                         item
 *   DOMAINS                D#<domain>                 domain (+ members: accounts + aliases + routes)
 *   D#<domain>             A#<address>                account (password hash)
 *   D#<domain>             AL#<address>               alias
 *   D#<domain>             R#<match>#<route id>       route, found by match (routesFor)
 *   D#<domain>             RI#<route id>              the same route, found by id (listRoutes, removeRoute)
 *   U#<address>            M#<mailbox name>           mailbox (UIDNEXT, HIGHESTMODSEQ, counters)
 *   U#<address>            V                          last UIDVALIDITY given (outlives the account)
 *   U#<address>            X#<mailbox id>             a deletion that has not finished
 *   B#<mailbox id>         S#<uid>                    message state: UID, MODSEQ, flags, size
 *   B#<mailbox id>         K#<content id>#M<n>        message metadata (deflated JSON), part n; part 0
 *                                                     claims the append (and may hold the text)
 *   B#<mailbox id>         K#<content id>#T<n>        message search text (deflated JSON), part n
 *   B#<mailbox id>         C#<modseq>                 change log: the flag changes or expunges of one write
 *   L#<lease name>         L                          lease
 *
 * Numbers in sort keys are zero-padded to 16 digits (Number.MAX_SAFE_INTEGER has 16), so
 * that string order is numeric order. Lease names, which can be long, are hashed when they
 * would not fit DynamoDB's 2048 bytes for a partition key.
 */

export interface Key {
  pk: string;
  sk: string;
}

const DIGITS = 16;
const MAX_PARTITION_KEY_BYTES = 2048;

export function pad(value: number): string {
  return String(value).padStart(DIGITS, '0');
}

/** The largest padded number: the upper end of a range that is open above. */
export const PAD_MAX = '9'.repeat(DIGITS);

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export const DOMAINS = 'DOMAINS';
export const domainKey = (domain: string): Key => ({ pk: DOMAINS, sk: `D#${domain}` });
export const domainPk = (domain: string): string => `D#${domain}`;
export const accountKey = (domain: string, address: string): Key => ({
  pk: domainPk(domain),
  sk: `A#${address}`,
});
export const aliasKey = (domain: string, address: string): Key => ({
  pk: domainPk(domain),
  sk: `AL#${address}`,
});
export const routeMatchPrefix = (match: string): string => `R#${match}#`;
export const routeKey = (domain: string, match: string, id: string): Key => ({
  pk: domainPk(domain),
  sk: `${routeMatchPrefix(match)}${id}`,
});
export const ROUTE_ID_PREFIX = 'RI#';
export const routeIdKey = (domain: string, id: string): Key => ({
  pk: domainPk(domain),
  sk: `${ROUTE_ID_PREFIX}${id}`,
});
export const ACCOUNT_PREFIX = 'A#';
export const ALIAS_PREFIX = 'AL#';

export const userPk = (address: string): string => `U#${address}`;
export const MAILBOX_PREFIX = 'M#';
export const mailboxKey = (account: string, name: string): Key => ({
  pk: userPk(account),
  sk: `${MAILBOX_PREFIX}${name}`,
});
export const UID_VALIDITY_SK = 'V';
export const uidValidityKey = (account: string): Key => ({ pk: userPk(account), sk: UID_VALIDITY_SK });
export const DELETING_PREFIX = 'X#';
export const deletingKey = (account: string, mailboxId: string): Key => ({
  pk: userPk(account),
  sk: `${DELETING_PREFIX}${mailboxId}`,
});

export const boxPk = (mailboxId: string): string => `B#${mailboxId}`;
export const STATE_PREFIX = 'S#';
export const stateSk = (uid: number): string => `${STATE_PREFIX}${pad(uid)}`;
export const stateKey = (mailboxId: string, uid: number): Key => ({ pk: boxPk(mailboxId), sk: stateSk(uid) });
export type ContentKind = 'M' | 'T';
export const contentKey = (mailboxId: string, contentId: string, kind: ContentKind, part: number): Key => ({
  pk: boxPk(mailboxId),
  sk: `K#${contentId}#${kind}${part}`,
});
export const CHANGE_PREFIX = 'C#';
export const changeSk = (modseq: number): string => `${CHANGE_PREFIX}${pad(modseq)}`;

export function leaseKey(name: string): Key {
  const pk = `L#${name}`;
  return { pk: Buffer.byteLength(pk) <= MAX_PARTITION_KEY_BYTES ? pk : `LH#${sha256(name)}`, sk: 'L' };
}
