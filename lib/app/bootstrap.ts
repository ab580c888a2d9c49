import { createHash } from 'node:crypto';
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

/**
 * One record to create at the DNS provider, in zone-file presentation: names end with a
 * dot, TXT values are quoted, MX values carry their preference. Route 53 takes these
 * values as they are (infra/constructs/mail-domains.ts passes them straight through).
 */
export interface DnsRecord {
  type: 'MX' | 'TXT' | 'CNAME';
  name: string;
  value: string;
  purpose: 'mx' | 'spf' | 'dmarc' | 'mta-sts' | 'tls-rpt' | 'dkim';
  /** What else the record needs to be of use, when there is something. */
  note?: string;
  /** `mta-sts` only: the policy the record announces, and the URL it must be served at. */
  policy?: MtaStsPolicy;
}

export interface MtaStsPolicy {
  /** https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2). */
  url: string;
  /** The policy file, CRLF-separated `key: value` lines. */
  text: string;
}

export interface DnsRecordOptions {
  /**
   * Who sends mail as the domain (forwards, submission, bounces), which SPF must authorise:
   * 'ses' on the aws backend (Outbound is SES, so `include:amazonses.com`; nothing sends
   * from the MX hosts there, and with SES ingress `mx` would name Amazon's shared inbound
   * servers); 'mx' (default) where the mail host itself sends, as the local backend does.
   */
  sender?: 'ses' | 'mx';
  /**
   * RFC 8461 mode. Default 'testing': senders deliver anyway and report failures through
   * TLS-RPT. 'enforce' only once those reports are clean, because a sender that cannot
   * validate the MX host's certificate then refuses to deliver.
   */
  mtaStsMode?: 'testing' | 'enforce';
  /** The MTA-STS policy id (1 to 32 letters and digits); default a hash of the policy text. */
  mtaStsId?: string;
  /** The Easy DKIM records SES gives the domain identity (EmailIdentity.dkimRecords): one CNAME each. */
  dkim?: readonly { name: string; value: string }[];
}

/** A week: RFC 8461 §3.2 suggests weeks, and the mode can still be changed with a new id. */
const MTA_STS_MAX_AGE = 604_800;

/** The id of an MTA-STS policy: changes exactly when the text does, as RFC 8461 §3.1 asks. */
export function mtaStsIdOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}

/**
 * Every record a domain served by `mxHost` needs, the one list both `mailroom domain add`
 * and the CDK (infra/constructs/mail-domains.ts) use: MX, SPF, DMARC, MTA-STS with its
 * policy, TLS-RPT, and the DKIM CNAMEs when given.
 */
export function dnsRecords(domain: string, mxHost: string, options: DnsRecordOptions = {}): DnsRecord[] {
  const mode = options.mtaStsMode ?? 'testing';
  // RFC 8461 §3.2: the mx lines name the MX hosts, whose certificates must match them.
  const policyText = [
    'version: STSv1',
    `mode: ${mode}`,
    `mx: ${mxHost}`,
    `max_age: ${MTA_STS_MAX_AGE}`,
    '',
  ].join('\r\n');
  const stsId = options.mtaStsId ?? mtaStsIdOf(policyText);
  if (!/^[A-Za-z0-9]{1,32}$/.test(stsId)) {
    throw new Error(`MTA-STS id must be 1 to 32 letters and digits, got ${JSON.stringify(stsId)}`);
  }
  const spf = options.sender === 'ses' ? 'v=spf1 include:amazonses.com -all' : 'v=spf1 mx -all';
  const policyUrl = `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
  return [
    { type: 'MX', name: `${domain}.`, value: `10 ${mxHost}.`, purpose: 'mx' },
    { type: 'TXT', name: `${domain}.`, value: `"${spf}"`, purpose: 'spf' },
    {
      type: 'TXT',
      name: `_dmarc.${domain}.`,
      value: `"v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}"`,
      purpose: 'dmarc',
      note: `aggregate reports go to postmaster@${domain}: give it an account or an alias`,
    },
    {
      type: 'TXT',
      name: `_mta-sts.${domain}.`,
      value: `"v=STSv1; id=${stsId}"`,
      purpose: 'mta-sts',
      note:
        `serve the policy at ${policyUrl} over HTTPS with a certificate for mta-sts.${domain}; ` +
        'until it is served, senders ignore the record (RFC 8461 §5)',
      policy: { url: policyUrl, text: policyText },
    },
    {
      type: 'TXT',
      name: `_smtp._tls.${domain}.`,
      value: `"v=TLSRPTv1; rua=mailto:tls-reports@${domain}"`,
      purpose: 'tls-rpt',
      note: `TLS reports (RFC 8460) go to tls-reports@${domain}: give it an account or an alias`,
    },
    ...(options.dkim ?? []).map((record): DnsRecord => ({
      type: 'CNAME',
      name: `${record.name}.`,
      value: `${record.value}.`,
      purpose: 'dkim',
      note: 'SES Easy DKIM: SES verifies the domain and signs its mail once the three resolve',
    })),
  ];
}
