import type { Store } from '../store/types.js';
import { generatePassword, hashPassword } from '../auth/password.js';

export const FIRST_DOMAIN = 'example.test';
export const FIRST_ACCOUNT = 'demo@example.test';

/**
 * On first start (no domain at all) creates example.test and demo@example.test with a
 * generated password, returned so the banner can print it once. Afterwards does nothing.
 */
export async function bootstrapFirstStart(
  store: Store,
): Promise<{ address: string; password: string } | undefined> {
  if ((await store.listDomains()).length > 0) return undefined;
  await store.addDomain(FIRST_DOMAIN);
  const password = generatePassword();
  await store.addAccount(FIRST_ACCOUNT, await hashPassword(password));
  return { address: FIRST_ACCOUNT, password };
}

/** The records to create at the DNS provider for a domain served by `mxHost`. */
export function dnsRecords(domain: string, mxHost: string) {
  return [
    { type: 'MX', name: `${domain}.`, value: `10 ${mxHost}.` },
    { type: 'TXT', name: `${domain}.`, value: '"v=spf1 mx -all"' },
    {
      type: 'TXT',
      name: `_dmarc.${domain}.`,
      value: `"v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}"`,
    },
  ];
}
