import { beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { synthMailroom, type SynthesizedMailroom } from './app-fixture.js';

/*
 * The whole app as `cdk deploy` builds it, in both ingress modes: the constructs of the
 * service stack wired together (services with their alarms, SES receiving, domains, the
 * certificate), each property checked on the synthesised templates.
 */

const MAIL_PORTS = [25, 587, 465, 143, 993, 110, 995];

describe('service stack, SMTP containers, no hosted zone (GIVEN -c domains=acme.test)', () => {
  let built: SynthesizedMailroom;
  beforeAll(() => {
    built = synthMailroom({ domains: 'acme.test' });
  });

  it('listens on every mail port, TLS on 465, 993 and 995 with the certificate for mail.acme.test', () => {
    const listeners = built.serviceTemplate.findResources('AWS::ElasticLoadBalancingV2::Listener');
    const ports = Object.values(listeners).map((l) => (l.Properties as { Port: number }).Port);
    expect(ports.sort((a, b) => a - b)).toEqual([...MAIL_PORTS].sort((a, b) => a - b));
    for (const listener of Object.values(listeners)) {
      const { Port, Protocol, Certificates } = listener.Properties as {
        Port: number;
        Protocol: string;
        Certificates?: unknown[];
      };
      expect(Protocol).toBe([465, 993, 995].includes(Port) ? 'TLS' : 'TCP');
      expect(Boolean(Certificates)).toBe(Protocol === 'TLS');
    }
    built.serviceTemplate.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'mail.acme.test',
      ValidationMethod: 'DNS',
    });
  });

  it('alarms on unhealthy and missing targets of every target group', () => {
    const groups = Object.keys(
      built.serviceTemplate.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'),
    );
    expect(groups).toHaveLength(MAIL_PORTS.length);
    const alarms = Object.values(built.serviceTemplate.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      ['UnHealthyHostCount', 'HealthyHostCount'].includes(
        (a.Properties as { MetricName?: string }).MetricName ?? '',
      ),
    );
    expect(alarms).toHaveLength(2 * MAIL_PORTS.length);
  });

  it('makes no DNS records without a zone, and outputs the records to create instead', () => {
    built.serviceTemplate.resourceCountIs('AWS::Route53::RecordSet', 0);
    const outputs = JSON.stringify(built.serviceTemplate.toJSON().Outputs);
    expect(outputs).toContain('10 mail.acme.test.');
    expect(outputs).toContain('v=STSv1');
    expect(outputs).toContain('v=TLSRPTv1');
    expect(outputs).toContain('v=DMARC1');
  });

  it('has no SES receiving', () => {
    built.serviceTemplate.resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
  });
});

describe('service stack, SES receiving with a hosted zone (GIVEN -c ingress=ses -c hostedZoneId=...)', () => {
  let built: SynthesizedMailroom;
  beforeAll(() => {
    built = synthMailroom({
      domains: 'acme.test',
      hostedZoneId: 'Z0123456789',
      hostedZoneName: 'acme.test',
      ingress: 'ses',
    });
  });

  it('receives through an SES rule set that the deploy activates', () => {
    built.serviceTemplate.resourceCountIs('AWS::SES::ReceiptRuleSet', 1);
    built.serviceTemplate.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({ Recipients: ['acme.test'], TlsPolicy: 'Require' }),
    });
    const custom = Object.keys(built.serviceTemplate.toJSON().Resources as object).filter((id) =>
      /Activat/.test(id),
    );
    expect(custom.length).toBeGreaterThan(0);
  });

  it('creates MX (pointing at SES), SPF, DMARC, MTA-STS and TLS-RPT records and a DKIM identity in the zone', () => {
    const records = Object.values(built.serviceTemplate.findResources('AWS::Route53::RecordSet')).map(
      (r) => r.Properties as { Name: string; Type: string; ResourceRecords?: unknown[] },
    );
    const mx = records.find((r) => r.Type === 'MX');
    expect(JSON.stringify(mx?.ResourceRecords)).toContain('inbound-smtp.');
    const txtNames = records.filter((r) => r.Type === 'TXT').map((r) => r.Name);
    for (const name of ['acme.test.', '_dmarc.acme.test.', '_mta-sts.acme.test.', '_smtp._tls.acme.test.']) {
      expect(txtNames).toContain(name);
    }
    built.serviceTemplate.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'acme.test' });
  });

  it('still serves submission, IMAP and POP3 from the containers', () => {
    const ports = Object.values(
      built.serviceTemplate.findResources('AWS::ElasticLoadBalancingV2::Listener'),
    ).map((l) => (l.Properties as { Port: number }).Port);
    for (const port of [587, 465, 143, 993, 110, 995]) expect(ports).toContain(port);
  });
});
