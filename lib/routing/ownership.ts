import type { Store } from '../store/types.js';
import { normalizeAddress, splitPlus } from './address.js';

/**
 * Whether an account may send as an address: its own, a plus variant of it, or an alias
 * that delivers to it.
 */
export async function ownsAddress(
  store: Pick<Store, 'getAlias'>,
  account: string,
  address: string,
): Promise<boolean> {
  const normalized = normalizeAddress(address);
  const base = splitPlus(normalized)?.base ?? normalized;
  if (base === account) return true;
  const alias = (await store.getAlias(normalized)) ?? (await store.getAlias(base));
  return Boolean(alias?.targets.some((target) => normalizeAddress(target) === account));
}
