/**
 * What `cdk deploy` can be told with `-c key=value` (or cdk.json "context"), read once by
 * infra/app.ts and handed to every stack.
 */
export interface MailroomContext {
  /** Domains to receive mail for (`-c domains=acme.test,example.org`). */
  domains: string[];
  /** A Route 53 hosted zone holding them (`-c hostedZoneId=Z123 -c hostedZoneName=acme.test`); without one the DNS records are outputs. */
  hostedZone?: { id: string; name: string };
  /** The name clients and MX records use for the mail host (default `mail.<first domain>`). */
  mailHost: string;
  /** How mail comes in: the SMTP container behind an NLB, or SES receiving (`-c ingress=ses`). */
  ingress: 'containers' | 'ses';
  /** An existing ACM certificate for mailHost (`-c certificateArn=...`); else one is made (DNS-validated with the zone). */
  certificateArn?: string;
  /** A Secrets Manager secret {"key","cert"} (PEM) for STARTTLS in the containers (`-c tlsSecretArn=...`); else an empty one is made to fill. */
  tlsSecretArn?: string;
}

export class ContextError extends Error {
  readonly code = 'CONTEXT_ERROR';
}

/** Reads and checks the context; throws ContextError naming the key that is wrong. */
export function readContext(get: (key: string) => unknown): MailroomContext {
  const text = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string')
      throw new ContextError(`context ${key} must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  const rawDomains = get('domains');
  const domains = (
    Array.isArray(rawDomains) ? rawDomains.map(String) : (text('domains') ?? 'example.test').split(',')
  )
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d.length > 0);
  for (const domain of domains) {
    if (!/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domain)) {
      throw new ContextError(`context domains: ${JSON.stringify(domain)} is not a domain name`);
    }
  }
  if (domains.length === 0) throw new ContextError('context domains: give at least one domain');
  const zoneId = text('hostedZoneId');
  const zoneName = text('hostedZoneName');
  if (Boolean(zoneId) !== Boolean(zoneName)) {
    throw new ContextError('context hostedZoneId and hostedZoneName go together: give both or neither');
  }
  const ingress = text('ingress') ?? 'containers';
  if (ingress !== 'containers' && ingress !== 'ses') {
    throw new ContextError(`context ingress must be "containers" or "ses", got ${JSON.stringify(ingress)}`);
  }
  const certificateArn = text('certificateArn');
  const tlsSecretArn = text('tlsSecretArn');
  return {
    domains,
    ...(zoneId && zoneName ? { hostedZone: { id: zoneId, name: zoneName.toLowerCase() } } : {}),
    mailHost: (text('mailHost') ?? `mail.${domains[0]!}`).toLowerCase(),
    ingress,
    ...(certificateArn ? { certificateArn } : {}),
    ...(tlsSecretArn ? { tlsSecretArn } : {}),
  };
}
