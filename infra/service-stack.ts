import { Stack, Token, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { MailroomContext } from './context.js';
import { IngestPipeline } from './constructs/ingest-pipeline.js';
import { Observability } from './constructs/observability.js';
import { MailServices } from './constructs/mail-services.js';
import { SesIngress } from './constructs/ses-ingress.js';
import { MailDomains } from './constructs/mail-domains.js';
import type { MailroomData } from './stateful-stack.js';

export interface ServiceStackProps extends StackProps {
  /** The stateful resources (StatefulStack), referenced across stacks. */
  readonly data: MailroomData;
  /** The deploy context (infra/context.ts). */
  readonly mailroom: MailroomContext;
  /** Email subscribed to the alarm topic. Default: none. */
  readonly alarmEmail?: string;
  /** Ingest function memory (MB). Default 512. */
  readonly ingestMemorySize?: number;
  /** Most concurrent ingest invocations. Default 10. */
  readonly ingestMaxConcurrency?: number;
}

/**
 * The compute: everything that can be replaced without touching data. Ingest (the Lambda on
 * the queue) and its alarms; the SMTP and IMAP/POP3 services behind one NLB, whose target
 * groups get unhealthy-target alarms; SES receiving when the context asks for it (MX then
 * names SES, and the SMTP service still serves submission); the domains' DNS records and
 * SES identities; the certificate for mailHost.
 */
export class ServiceStack extends Stack {
  readonly data: MailroomData;
  readonly mailroom: MailroomContext;
  readonly ingest: IngestPipeline;
  readonly observability: Observability;
  readonly mail: MailServices;
  readonly sesIngress: SesIngress | undefined;
  readonly domains: MailDomains;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    this.data = props.data;
    this.mailroom = props.mailroom;

    this.ingest = new IngestPipeline(this, 'Ingest', {
      data: props.data,
      sendingDomains: props.mailroom.domains,
      ...(props.ingestMemorySize === undefined ? {} : { memorySize: props.ingestMemorySize }),
      ...(props.ingestMaxConcurrency === undefined ? {} : { maxConcurrency: props.ingestMaxConcurrency }),
    });

    this.observability = new Observability(this, 'Observability', {
      queue: props.data.queue,
      deadLetterQueue: props.data.deadLetterQueue,
      ingestFunction: this.ingest.function,
      table: props.data.table,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    const { mailroom } = props;
    const zone = mailroom.hostedZone
      ? route53.PublicHostedZone.fromPublicHostedZoneAttributes(this, 'Zone', {
          hostedZoneId: mailroom.hostedZone.id,
          zoneName: mailroom.hostedZone.name,
        })
      : undefined;
    // The certificate of the implicit-TLS listeners (465, 993, 995). Without a zone ACM
    // waits, during the deploy, for the validation CNAME the console shows to be created.
    const certificate = mailroom.certificateArn
      ? acm.Certificate.fromCertificateArn(this, 'Certificate', mailroom.certificateArn)
      : new acm.Certificate(this, 'Certificate', {
          domainName: mailroom.mailHost,
          validation: acm.CertificateValidation.fromDns(zone),
        });

    this.mail = new MailServices(this, 'Mail', {
      bucket: props.data.bucket,
      table: props.data.table,
      queue: props.data.queue,
      deadLetterQueue: props.data.deadLetterQueue,
      mailHost: mailroom.mailHost,
      certificate,
      ...(mailroom.tlsSecretArn
        ? { tlsSecret: secretsmanager.Secret.fromSecretCompleteArn(this, 'TlsSecret', mailroom.tlsSecretArn) }
        : {}),
      // NLB access logs need the region's ELB account: only when the stack has a region.
      ...(Token.isUnresolved(this.region)
        ? {}
        : { accessLogs: { bucket: props.data.logBucket, prefix: 'nlb' } }),
      onTargetGroup: (targetGroup, name) => this.observability.addUnhealthyTargetAlarm(targetGroup, name),
    });

    this.sesIngress =
      mailroom.ingress === 'ses'
        ? new SesIngress(this, 'SesIngress', {
            domains: mailroom.domains,
            bucket: props.data.bucket,
            queue: props.data.queue,
          })
        : undefined;

    this.domains = new MailDomains(this, 'Domains', {
      domains: mailroom.domains,
      mailHost: mailroom.mailHost,
      ...(zone ? { hostedZone: zone } : {}),
      ...(this.sesIngress ? { mxTarget: this.sesIngress.mxTarget } : {}),
      loadBalancer: this.mail.smtpLoadBalancer,
    });
  }
}
