import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { dnsRecords, mtaStsIdOf } from '../../lib/app/bootstrap.js';
import { MailDomains, type MailDomainsProps } from '../../infra/constructs/mail-domains.js';
import { nagViolations } from '../../infra/nag.js';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const SES_INBOUND = 'inbound-smtp.eu-west-1.amazonaws.com';

describe('dnsRecords', () => {
  it('lists MX, SPF, DMARC, MTA-STS and TLS-RPT for a domain, in zone-file form', () => {
    // Act
    const records = dnsRecords('acme.test', 'mail.acme.test');

    // Assess
    expect(records.map(({ type, name, value }) => `${name} ${type} ${value}`)).toEqual([
      'acme.test. MX 10 mail.acme.test.',
      'acme.test. TXT "v=spf1 mx -all"',
      '_dmarc.acme.test. TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@acme.test"',
      `_mta-sts.acme.test. TXT "v=STSv1; id=${mtaStsIdOf(records[3]!.policy!.text)}"`,
      '_smtp._tls.acme.test. TXT "v=TLSRPTv1; rua=mailto:tls-reports@acme.test"',
    ]);
  });

  it('gives the MTA-STS policy to serve, naming the MX host (RFC 8461 §3.2)', () => {
    const [, , , sts] = dnsRecords('acme.test', 'mail.acme.test');
    expect(sts!.policy).toEqual({
      url: 'https://mta-sts.acme.test/.well-known/mta-sts.txt',
      text: 'version: STSv1\r\nmode: testing\r\nmx: mail.acme.test\r\nmax_age: 604800\r\n',
    });
    expect(sts!.note).toContain('https://mta-sts.acme.test/.well-known/mta-sts.txt');
  });

  it('keeps the MTA-STS id while the policy stays, and changes it with the policy (RFC 8461 §3.1)', () => {
    const id = (records: ReturnType<typeof dnsRecords>) => records[3]!.value;
    expect(id(dnsRecords('acme.test', 'mail.acme.test'))).toBe(id(dnsRecords('acme.test', 'mail.acme.test')));
    expect(id(dnsRecords('acme.test', 'mail.acme.test'))).toMatch(/^"v=STSv1; id=[A-Za-z0-9]{1,32}"$/);
    expect(id(dnsRecords('acme.test', 'mail.acme.test', { mtaStsMode: 'enforce' }))).not.toBe(
      id(dnsRecords('acme.test', 'mail.acme.test')),
    );
    expect(id(dnsRecords('acme.test', 'other.acme.test'))).not.toBe(
      id(dnsRecords('acme.test', 'mail.acme.test')),
    );
    expect(() => dnsRecords('acme.test', 'mail.acme.test', { mtaStsId: 'not-alnum' })).toThrow(/MTA-STS id/);
  });

  it('authorises SES as the sender on the aws backend', () => {
    expect(dnsRecords('acme.test', SES_INBOUND, { sender: 'ses' })[1]!.value).toBe(
      '"v=spf1 include:amazonses.com -all"',
    );
  });

  it('adds the Easy DKIM CNAMEs when given', () => {
    const dkim = [1, 2, 3].map((n) => ({
      name: `tok${n}._domainkey.acme.test`,
      value: `tok${n}.dkim.amazonses.com`,
    }));
    const records = dnsRecords('acme.test', 'mail.acme.test', { dkim });
    expect(records.slice(5).map(({ type, name, value }) => `${name} ${type} ${value}`)).toEqual([
      'tok1._domainkey.acme.test. CNAME tok1.dkim.amazonses.com.',
      'tok2._domainkey.acme.test. CNAME tok2.dkim.amazonses.com.',
      'tok3._domainkey.acme.test. CNAME tok3.dkim.amazonses.com.',
    ]);
  });
});

function build(props: Partial<MailDomainsProps> & { zone?: string } = {}) {
  const app = new App();
  const stack = new Stack(app, 'Service', { env: ENV });
  const { zone, ...rest } = props;
  const hostedZone = zone
    ? route53.PublicHostedZone.fromPublicHostedZoneAttributes(stack, 'Zone', {
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        zoneName: zone,
      })
    : undefined;
  const domains = new MailDomains(stack, 'Domains', {
    domains: ['acme.test'],
    mailHost: 'mail.acme.test',
    ...(hostedZone ? { hostedZone } : {}),
    ...rest,
  });
  return { stack, domains, template: Template.fromStack(stack) };
}

function nlb(stack: Stack) {
  return elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(stack, 'Nlb', {
    loadBalancerArn:
      'arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/net/mail/0123456789abcdef',
    loadBalancerDnsName: 'mail-0123456789abcdef.elb.eu-west-1.amazonaws.com',
    loadBalancerCanonicalHostedZoneId: 'Z2IFOLAFXWLO4F',
  });
}

describe('MailDomains', () => {
  it('with a zone, makes the records dnsRecords lists, as it lists them', () => {
    // WHEN
    const { template } = build({ zone: 'acme.test' });

    // THEN: the same records, value for value, that `mailroom domain add` prints on AWS.
    const expected = dnsRecords('acme.test', 'mail.acme.test', { sender: 'ses' });
    for (const record of expected) {
      template.hasResourceProperties('AWS::Route53::RecordSet', {
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        Name: record.name,
        Type: record.type,
        ResourceRecords: [record.value],
      });
    }
    // Five of ours and the identity's three DKIM CNAMEs.
    template.resourceCountIs('AWS::Route53::RecordSet', expected.length + 3);
  });

  it('with a zone, verifies the domain in SES with Easy DKIM, its CNAMEs in the zone', () => {
    // WHEN
    const { template, stack, domains } = build({ zone: 'acme.test' });

    // THEN
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'acme.test' });
    const identity = stack.getLogicalId(domains.identities['acme.test']!.node.defaultChild as never);
    for (const n of [1, 2, 3]) {
      template.hasResourceProperties('AWS::Route53::RecordSet', {
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        Type: 'CNAME',
        Name: { 'Fn::GetAtt': [identity, `DkimDNSTokenName${n}`] },
        ResourceRecords: [{ 'Fn::GetAtt': [identity, `DkimDNSTokenValue${n}`] }],
      });
    }
    // Nothing to do by hand but serve the MTA-STS policy.
    expect(Object.keys(template.findOutputs('*'))).toEqual([expect.stringMatching(/MtaStsPolicy/)]);
  });

  it('with SES ingress, points MX at the inbound endpoint and names it in the MTA-STS policy', () => {
    // WHEN
    const { template } = build({ zone: 'acme.test', mxTarget: SES_INBOUND });

    // THEN
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'acme.test.',
      Type: 'MX',
      ResourceRecords: [`10 ${SES_INBOUND}.`],
    });
    template.hasOutput('*', {
      Value: Match.stringLikeRegexp(`mx: ${SES_INBOUND.replace(/\./g, '\\.')}\r\n`),
    });
  });

  it('with a zone, points mailHost at the load balancer with an alias record', () => {
    // GIVEN
    const app = new App();
    const stack = new Stack(app, 'Service', { env: ENV });
    const hostedZone = route53.PublicHostedZone.fromPublicHostedZoneAttributes(stack, 'Zone', {
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      zoneName: 'acme.test',
    });

    // WHEN
    new MailDomains(stack, 'Domains', {
      domains: ['acme.test'],
      mailHost: 'mail.acme.test',
      hostedZone,
      loadBalancer: nlb(stack),
    });

    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'mail.acme.test.',
      Type: 'A',
      AliasTarget: {
        DNSName: 'dualstack.mail-0123456789abcdef.elb.eu-west-1.amazonaws.com',
        HostedZoneId: 'Z2IFOLAFXWLO4F',
      },
    });
  });

  it('without a zone, makes no records but outputs each one as a zone-file line, DKIM included', () => {
    // WHEN
    const { template, stack, domains } = build({ mxTarget: SES_INBOUND });

    // THEN
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    const values = Object.values(template.findOutputs('*')).map((o) => stack.resolve(o.Value));
    for (const record of dnsRecords('acme.test', SES_INBOUND, { sender: 'ses' })) {
      expect(values).toContain(`${record.name} ${record.type} ${record.value}`);
    }
    const identity = stack.getLogicalId(domains.identities['acme.test']!.node.defaultChild as never);
    for (const n of [1, 2, 3]) {
      expect(values).toContainEqual({
        'Fn::Join': [
          '',
          [
            { 'Fn::GetAtt': [identity, `DkimDNSTokenName${n}`] },
            '. CNAME ',
            { 'Fn::GetAtt': [identity, `DkimDNSTokenValue${n}`] },
            '.',
          ],
        ],
      });
    }
    template.hasOutput('*', {
      Description: Match.stringLikeRegexp(
        'serve it at https://mta-sts\\.acme\\.test/\\.well-known/mta-sts\\.txt',
      ),
      Value: Match.stringLikeRegexp('^version: STSv1\r\n'),
    });
  });

  it('outputs the records of a domain outside the zone', () => {
    // WHEN
    const { template } = build({ zone: 'acme.test', domains: ['acme.test', 'example.org'] });

    // THEN
    template.resourcePropertiesCountIs('AWS::Route53::RecordSet', { Name: 'example.org.' }, 0);
    template.hasOutput('*', { Value: 'example.org. TXT "v=spf1 include:amazonses.com -all"' });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'acme.test.', Type: 'MX' });
  });

  it('without a zone, asks for an ALIAS for mailHost when it is the MX host, a CNAME otherwise', () => {
    const outputFor = (mxTarget?: string) => {
      const app = new App();
      const stack = new Stack(app, 'Service', { env: ENV });
      new MailDomains(stack, 'Domains', {
        domains: ['acme.test'],
        mailHost: 'mail.acme.test',
        loadBalancer: nlb(stack),
        ...(mxTarget ? { mxTarget } : {}),
      });
      const outputs = Template.fromStack(stack).findOutputs('*', {
        Value: Match.stringLikeRegexp('^mail\\.acme'),
      });
      return Object.values(outputs).map((o) => stack.resolve(o.Value));
    };
    expect(outputFor()).toEqual(['mail.acme.test. ALIAS mail-0123456789abcdef.elb.eu-west-1.amazonaws.com.']);
    expect(outputFor(SES_INBOUND)).toEqual([
      'mail.acme.test. CNAME mail-0123456789abcdef.elb.eu-west-1.amazonaws.com.',
    ]);
  });

  it('keeps the MTA-STS id from one synth to the next when the region is a token', () => {
    const id = () => {
      const app = new App();
      const stack = new Stack(app, 'Service');
      new MailDomains(stack, 'Domains', {
        domains: ['acme.test'],
        mailHost: 'mail.acme.test',
        mxTarget: `inbound-smtp.${stack.region}.amazonaws.com`,
      });
      return Object.values(Template.fromStack(stack).findOutputs('*'))
        .map((o) => JSON.stringify(o.Value))
        .find((v) => v.includes('v=STSv1; id='));
    };
    // A plain id, not a token placeholder, the same every time.
    expect(id()).toMatch(/v=STSv1; id=[a-f0-9]{20}\\"/);
    expect(id()).toBe(id());
  });

  it('passes the AWS Solutions checks', () => {
    expect(nagViolations(build({ zone: 'acme.test' }).stack)).toEqual([]);
    expect(nagViolations(build().stack)).toEqual([]);
  });
});
