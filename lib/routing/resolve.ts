import type { Store } from '../store/types.js';
import { normalizeAddress, splitAddress, splitPlus } from './address.js';

/** One thing to do with a message for one recipient. */
export type Action =
  | { type: 'deliver'; account: string; folder: string }
  | { type: 'forward'; to: string }
  | { type: 'webhook'; url: string; secret: string };

export type Resolution =
  /** Ours: do these actions (none at all means the mail is dropped on purpose). */
  | { status: 'local'; actions: Action[] }
  /** A domain we do not serve. */
  | { status: 'foreign' }
  /** Our domain, no such recipient. */
  | { status: 'unknown' }
  /** A route refuses this recipient. */
  | { status: 'rejected'; message: string };

/** Aliases may point at aliases; deeper than this is a loop or a mistake. */
const MAX_DEPTH = 8;

/** The store reads resolveRecipient makes (the first four are the directory: lib/routing/directory-cache.ts). */
export type RecipientLookup = Pick<
  Store,
  'getDomain' | 'getAccount' | 'getAlias' | 'routesFor' | 'getMailbox'
>;

/**
 * Decides what happens to mail for one address, in this order:
 * 1. routes on the exact address (reject, deliver, forward, webhook, drop);
 * 2. the account of that address (INBOX), unless a route already delivered or dropped;
 * 3. an alias, expanded recursively (local targets resolved again, others forwarded);
 * 4. plus-addressing: `user+tag@` resolves as `user@`, filed in folder `tag` when it exists;
 * 5. the domain's catch-all routes (`*@domain`).
 */
export async function resolveRecipient(store: RecipientLookup, address: string): Promise<Resolution> {
  const seen = new Set<string>();
  const actions: Action[] = [];
  const outcome = await expand(store, normalizeAddress(address), 0, seen, actions);
  if (outcome !== 'local') return outcome;
  return { status: 'local', actions: dedupe(actions) };
}

async function expand(
  store: RecipientLookup,
  address: string,
  depth: number,
  seen: Set<string>,
  actions: Action[],
): Promise<'local' | Exclude<Resolution, { status: 'local' }>> {
  const parts = splitAddress(address);
  if (!parts || !(await store.getDomain(parts.domain))) return { status: 'foreign' };
  if (seen.has(address) || depth > MAX_DEPTH) return 'local';
  seen.add(address);
  const before = actions.length;

  const routed = await applyRoutes(store, address, depth, seen, actions);
  if (typeof routed === 'object') return routed;
  if (await store.getAccount(address)) {
    if (!routed) actions.push({ type: 'deliver', account: address, folder: 'INBOX' });
    return 'local';
  }
  if (routed) return 'local';

  const alias = await store.getAlias(address);
  if (alias) {
    for (const target of alias.targets) await expandTarget(store, target, depth, seen, actions);
    return 'local';
  }

  const plus = splitPlus(address);
  if (plus) {
    const inner: Action[] = [];
    const result = await expand(store, plus.base, depth + 1, seen, inner);
    if (result === 'local') {
      for (const action of inner) actions.push(await intoTagFolder(store, action, plus.tag));
      return 'local';
    }
  }

  const catchAll = await applyRoutes(store, `*@${parts.domain}`, depth, seen, actions);
  if (typeof catchAll === 'object') return catchAll;
  // A webhook alone is enough to make an address exist.
  return catchAll || actions.length > before ? 'local' : { status: 'unknown' };
}

/**
 * Applies the routes whose match is exactly `match`. Returns true when one of them decided
 * where the mail goes (deliver, forward or drop), false when there were none or only
 * webhooks (which notify, and leave delivery as it would be), or a rejection.
 */
async function applyRoutes(
  store: RecipientLookup,
  match: string,
  depth: number,
  seen: Set<string>,
  actions: Action[],
): Promise<boolean | { status: 'rejected'; message: string }> {
  let decided = false;
  for (const route of await store.routesFor(match)) {
    const action = route.action;
    switch (action.type) {
      case 'reject':
        return { status: 'rejected', message: action.message ?? 'Recipient rejected by policy' };
      case 'deliver':
        actions.push({
          type: 'deliver',
          account: normalizeAddress(action.account),
          folder: action.folder ?? 'INBOX',
        });
        decided = true;
        break;
      case 'forward':
        for (const target of action.to) await expandTarget(store, target, depth, seen, actions);
        decided = true;
        break;
      case 'webhook':
        actions.push({ type: 'webhook', url: action.url, secret: action.secret });
        break;
      case 'drop':
        decided = true;
        break;
    }
  }
  return decided;
}

/** A local target resolves again (aliases of aliases); anything else is forwarded. */
async function expandTarget(
  store: RecipientLookup,
  target: string,
  depth: number,
  seen: Set<string>,
  actions: Action[],
) {
  const normalized = normalizeAddress(target);
  const result = await expand(store, normalized, depth + 1, seen, actions);
  if (typeof result === 'object' && result.status === 'foreign')
    actions.push({ type: 'forward', to: target.trim() });
}

async function intoTagFolder(store: RecipientLookup, action: Action, tag: string): Promise<Action> {
  if (action.type !== 'deliver' || action.folder !== 'INBOX') return action;
  const mailbox = await store.getMailbox(action.account, tag);
  return mailbox ? { ...action, folder: mailbox.name } : action;
}

function dedupe(actions: Action[]): Action[] {
  const keys = new Set<string>();
  return actions.filter((action) => {
    const key = JSON.stringify(action);
    if (keys.has(key)) return false;
    keys.add(key);
    return true;
  });
}
