import { CfnOutput, Stack, Token } from 'aws-cdk-lib';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { dnsRecords, mtaStsIdOf, type DnsRecord, type DnsRecordOptions } from '../../lib/app/bootstrap.js';

export interface MailDomainsProps {
  /** The domains Mailroom receives mail for. */
  readonly domains: readonly string[];
  /** The name clients (IMAP, POP3, submission) and, with the SMTP containers, MX records use. */
  readonly mailHost: string;
  /**
   * A public Route 53 zone holding the domains: the records are made in it. Without one
   * (or for a domain outside it) the records to create are stack outputs.
   */
  readonly hostedZone?: route53.IHostedZone;
  /**
   * The host the MX records name. Default mailHost (the SMTP containers: mailHost points at
   * their NLB, and its certificate names mailHost, as MTA-STS wants). For SES ingress:
   * SesIngress.mxTarget, `inbound-smtp.<region>.amazonaws.com`. Not a load balancer's
   * own DNS name: no certificate names it, so MTA-STS would fail.
   */
  readonly mxTarget?: string;
  /** The NLB mailHost points at: an alias A record in the zone, else an output. */
  readonly loadBalancer?: elbv2.ILoadBalancerV2;
  /** MTA-STS mode (lib/app/bootstrap.ts). Default 'testing'. */
  readonly mtaStsMode?: DnsRecordOptions['mtaStsMode'];
}

/**
 * The DNS and SES side of the domains: for each, an SES domain identity with Easy DKIM
 * (forwards and submitted mail go out through SES, and SES receiving needs it too), and
 * the records of lib/app/bootstrap.ts dnsRecords, the same list `mailroom domain add`
 * prints: MX, SPF (SES as the sender), DMARC, MTA-STS, TLS-RPT.
 *
 * With a hosted zone the records are made in it and the identity makes its own DKIM
 * CNAMEs. Without one nothing is made in DNS: each record is an output, one zone-file line
 * (`name TYPE value`), the DKIM CNAMEs included (from the identity's tokens).
 *
 * The MTA-STS policy is not hosted here: serving https://mta-sts.<domain>/.well-known/mta-sts.txt
 * needs a certificate per domain and a web front (CloudFront, or any web host), which is a
 * choice for the operator. Each domain's policy text is an output, its description says
 * where to serve it. Until it is served, senders ignore the MTA-STS record (RFC 8461 §5),
 * so publishing the record first is harmless.
 */
export class MailDomains extends Construct {
  /** The SES identity of each domain. */
  readonly identities: Record<string, ses.EmailIdentity> = {};
  readonly mxTarget: string;

  constructor(scope: Construct, id: string, props: MailDomainsProps) {
    super(scope, id);
    if (props.domains.length === 0) throw new Error('MailDomains needs at least one domain');
    const zone = props.hostedZone;
    this.mxTarget = props.mxTarget ?? props.mailHost;

    for (const domain of props.domains) {
      const domainScope = new Construct(this, domain);
      const inZone = zone !== undefined && holds(zone, domain);
      const identity = new ses.EmailIdentity(domainScope, 'Identity', {
        // Identity.publicHostedZone would name the zone, not the domain, when the domain is
        // a subdomain of the zone: give both. The zone must be public (DKIM lookups).
        identity: inZone
          ? { value: domain, hostedZone: zone as route53.IPublicHostedZone }
          : ses.Identity.domain(domain),
      });
      this.identities[domain] = identity;

      const records = dnsRecords(domain, this.mxTarget, {
        sender: 'ses',
        ...(props.mtaStsMode ? { mtaStsMode: props.mtaStsMode } : {}),
        ...this.stableMtaStsId(domain, props.mtaStsMode),
        // In the zone the identity makes its DKIM records itself.
        ...(inZone ? {} : { dkim: identity.dkimRecords }),
      });
      let dkim = 0;
      for (const record of records) {
        const recordId = record.purpose === 'dkim' ? `Dkim${++dkim}` : RECORD_IDS[record.purpose];
        if (inZone) {
          new route53.RecordSet(domainScope, recordId, {
            zone: zone,
            recordType: route53.RecordType[record.type],
            recordName: record.name,
            target: route53.RecordTarget.fromValues(record.value),
          });
        } else {
          new CfnOutput(domainScope, recordId, {
            value: `${record.name} ${record.type} ${record.value}`,
            description: `DNS record to create for ${domain} (${record.purpose})${record.note ? `: ${record.note}` : ''}`,
          });
        }
        if (record.policy) {
          new CfnOutput(domainScope, 'MtaStsPolicy', {
            value: record.policy.text,
            description: `MTA-STS policy of ${domain}: serve it at ${record.policy.url} (HTTPS, certificate for mta-sts.${domain})`,
          });
        }
      }
    }

    if (props.loadBalancer) this.pointMailHost(props.mailHost, props.loadBalancer, zone);
  }

  /**
   * With SES ingress in an environment-agnostic stack the MX host holds a token (the
   * region). Its placeholder is numbered by creation order, which another aws-cdk-lib or
   * another construct tree may change: hash what it resolves to in the template instead.
   */
  private stableMtaStsId(domain: string, mode: DnsRecordOptions['mtaStsMode']): { mtaStsId?: string } {
    if (!Token.isUnresolved(this.mxTarget)) return {};
    const resolved = JSON.stringify(Stack.of(this).resolve(this.mxTarget));
    return { mtaStsId: mtaStsIdOf(`${domain} ${mode ?? 'testing'} ${resolved}`) };
  }

  private pointMailHost(mailHost: string, nlb: elbv2.ILoadBalancerV2, zone: route53.IHostedZone | undefined) {
    if (zone && holds(zone, mailHost)) {
      new route53.ARecord(this, 'MailHost', {
        zone,
        recordName: `${mailHost}.`,
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(nlb)),
      });
      return;
    }
    // An MX host must not be a CNAME (RFC 2181 §10.3): then it has to be the provider's
    // ALIAS/ANAME (or flattened CNAME) record.
    const isMx = mailHost === this.mxTarget;
    new CfnOutput(this, 'MailHost', {
      value: `${mailHost}. ${isMx ? 'ALIAS' : 'CNAME'} ${nlb.loadBalancerDnsName}.`,
      description: isMx
        ? `DNS record to create for ${mailHost}: an ALIAS/ANAME to the load balancer (MX hosts must not be CNAMEs)`
        : `DNS record to create for ${mailHost}: the load balancer`,
    });
  }
}

/** Whether the zone holds the name (a zone name that is a token holds everything it is given). */
function holds(zone: route53.IHostedZone, name: string): boolean {
  const zoneName = zone.zoneName.replace(/\.$/, '').toLowerCase();
  if (Token.isUnresolved(zoneName)) return true;
  return name === zoneName || name.endsWith(`.${zoneName}`);
}

const RECORD_IDS: Record<DnsRecord['purpose'], string> = {
  mx: 'Mx',
  spf: 'Spf',
  dmarc: 'Dmarc',
  'mta-sts': 'MtaSts',
  'tls-rpt': 'TlsRpt',
  dkim: 'Dkim',
};
