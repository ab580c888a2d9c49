/*
 * MailServices: the two containers of the cloud half, `mailroom smtp` (MX and submission)
 * and `mailroom access` (IMAP and POP3), on Fargate behind an internet-facing Network Load
 * Balancer.
 *
 * TLS
 * ---
 * Implicit TLS (465 submission, 993 IMAP, 995 POP3) ends at the load balancer: TLS listeners
 * with the ACM certificate (props.certificate, policy ELBSecurityPolicy-TLS13-1-2-2021-06:
 * TLS 1.2 and 1.3) forward plain TCP to the containers' *offload* ports
 * (MAILROOM_SUBMISSION_OFFLOAD_PORT, MAILROOM_IMAP_OFFLOAD_PORT, MAILROOM_POP3_OFFLOAD_PORT,
 * lib/config.ts). A session on an offload port counts as TLS: AUTH / LOGIN / USER-PASS are
 * allowed, STARTTLS is not offered, Received: says ESMTPSA. Those ports are plain text on the
 * wire between balancer and task, so they must never be reachable any other way: the tasks
 * sit in private subnets without public addresses, and their security group admits the
 * offload ports (like every container port) only from the load balancer's security group.
 * Never publish an offload port anywhere else (lib/config.ts says the same).
 *
 * STARTTLS (25 MX, 587 submission, 143 IMAP, 110 POP3) cannot be offloaded: the balancer
 * passes those ports through as TCP and the container does the handshake itself, with a key
 * and certificate it gets as PEM text in MAILROOM_TLS_KEY_PEM / MAILROOM_TLS_CERT_PEM, which
 * ECS reads at task start from a Secrets Manager secret (JSON fields `key` and `cert`):
 *   - props.tlsSecret (e.g. from context `tlsSecretArn`, imported with
 *     Secret.fromSecretCompleteArn), or else
 *   - a secret made here holding {"key":"","cert":""}, which the operator fills:
 *       aws secretsmanager put-secret-value --secret-id <TlsSecretArn output> --secret-string \
 *         "$(jq -n --rawfile key privkey.pem --rawfile cert fullchain.pem '{key:$key,cert:$cert}')"
 *     then `aws ecs update-service --force-new-deployment` for both services (ECS reads
 *     secrets only when a task starts; a renewed certificate needs the same). The template
 *     never changes that secret's value again.
 * Empty fields (the placeholder) leave the container on a self-signed certificate made at
 * start (openssl is in the image), and it logs a warning saying so. That is acceptable for
 * MX: senders that do opportunistic STARTTLS rarely verify, and nothing on 25 depends on it.
 * It is not for 587/143/110: clients that verify refuse it, and should then use 465/993/995,
 * whose certificate is the balancer's ACM one. A key and certificate that do not pair, or
 * are not PEM, stop the container with exit code 2 and a message naming the variables.
 *
 * Client addresses
 * ----------------
 * Target groups are of type IP (awsvpc tasks) with client IP preservation on
 * (preserve_client_ip.enabled; off by default for IP targets over TCP/TLS), so the tasks see
 * the sender's own address: SMTP's Received: header, the IngestJob's clientAddress and every
 * session log carry it, for TLS listeners too. Chosen over the PROXY protocol because
 * smtp-server understands PROXY but our IMAP and POP3 servers do not, and a protocol
 * header on some ports only would be one more thing to get wrong. Security groups still
 * work: the NLB has its own security group, and AWS documents that a target rule referencing
 * it admits the balancer's traffic even with client IP preservation on.
 *
 * Draining
 * --------
 * When ECS stops a task it first deregisters it: the balancer sends no new connections and
 * lets open ones run for the deregistration delay (SMTP 120 s: a 40 MB message on a slow
 * sender link; access 30 s: IMAP IDLE sessions never end by themselves, and a client that
 * gets BYE reconnects to another task). Then SIGTERM: the health check turns 503, the
 * container waits MAILROOM_DRAIN_SECONDS (>= interval x unhealthy threshold, for the case
 * where a task is stopped without deregistration), closes its listeners, lets sessions end
 * (IMAP BYE, POP3 releases its maildrop lock), and exits well within the stop timeout
 * (120 s, the most Fargate allows) before SIGKILL. A target that fails its health check
 * keeps its open connections (unhealthy connection termination off, drained for as long as
 * a deregistration) so a backend hiccup does not cut every session at once.
 *
 * Idle connections: the NLB closes a flow after 350 s without a packet. For the TCP
 * listeners that is raised to just over the server's own autologout (IMAP 143: 31 min, RFC
 * 3501 §5.4; POP3 110: 11 min). A TLS listener's idle timeout is fixed at 350 s, so an IMAP
 * IDLE on 993 that hears nothing for six minutes is cut; clients notice at their next
 * re-IDLE. (The fix is on the server: an untagged "* OK" every few minutes during IDLE.)
 *
 * Image, CPU, scaling
 * -------------------
 * The image is the repository's Dockerfile, staged by ContainerImage.fromAsset through the
 * allowlist in .dockerignore (synth needs no Docker; deploy builds it). Both services run on
 * X86_64 by default so that any deploy machine builds the image without emulation;
 * cpuArchitecture ARM64 (Graviton, cheaper) builds the asset for linux/arm64 to match, which
 * on an x86 machine needs QEMU (docker buildx). The containers listen on ports above 1024
 * (they run as the image's non-root user); the balancer maps 25 -> 2525, 587 -> 2587,
 * 465 -> 2465, 143 -> 2143, 993 -> 2993, 110 -> 2110, 995 -> 2995, health on 8080. Each
 * service scales on CPU (access also on memory: idle IMAP connections cost memory, not CPU).
 *
 * One balancer by default: both services share one NLB, because one name (mailHost) with one
 * certificate is what MX records and mail clients point at, and a DNS name can alias only one
 * load balancer. separateLoadBalancers gives each service its own NLB; the access one then
 * needs a name of its own, covered by the certificate.
 *
 * IAM, least privilege (checked in test/infra/mail-services.test.ts):
 *   smtp task   s3:PutObject, s3:AbortMultipartUpload, s3:DeleteObject on <bucket>/raw/*
 *               (the raw message; deleted again when the job cannot be queued or the
 *               message is refused after DATA); sqs:SendMessage on the ingest queue;
 *               dynamodb:GetItem, BatchGetItem, Query on the table (directory lookups at
 *               RCPT, AUTH, From ownership, the health check). Nothing else.
 *   access task s3:GetObject on <bucket>/raw/* (bodies), and PutObject, AbortMultipartUpload,
 *               DeleteObject there too: IMAP APPEND stores the raw message under raw/ like
 *               ingress does. DynamoDB read and write of items (mailboxes, flags, UIDs, POP3
 *               leases; ConditionCheckItem for transactions). No SQS.
 *   both        kms actions on the bucket's, queue's or table's customer key when they have one.
 *               The TLS secret is read by the task *execution* role (ECS injects it before
 *               the container starts); the task role cannot read it.
 */
import { fileURLToPath } from 'node:url';
import {
  CfnOutput,
  Duration,
  IgnoreMode,
  SecretValue,
  Stack,
  Validations,
  type CfnResource,
} from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { rules as nagRules } from 'cdk-nag';
import { Construct } from 'constructs';
import { ENV_NAMES, type Config } from '../../lib/config.js';

/** The repository root: the Docker build context (filtered by .dockerignore). */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const HEALTH_PORT = 8080;
export const HEALTH_PATH = '/health';
/** NLB health check: a task is out after HEALTH_INTERVAL x UNHEALTHY_THRESHOLD. */
export const HEALTH_INTERVAL = Duration.seconds(10);
export const UNHEALTHY_THRESHOLD = 2;
/** SIGTERM to closed listeners: the time the balancer needs to see the 503. */
export const DRAIN_SECONDS = HEALTH_INTERVAL.toSeconds() * UNHEALTHY_THRESHOLD;
/** SIGTERM to SIGKILL; 120 s is Fargate's maximum. */
export const STOP_TIMEOUT = Duration.seconds(120);

export type ServiceRole = 'smtp' | 'access';

/** One public port: the balancer's listener and the container port it forwards to. */
export interface MailPort {
  /** Names the target group (and the alarm onTargetGroup makes). */
  readonly name: string;
  readonly role: ServiceRole;
  readonly listenerPort: number;
  readonly containerPort: number;
  /** The config field (lib/config.ts) the container reads its port from. */
  readonly setting: keyof Config;
  /** TLS ends at the balancer (ACM certificate); the container port is an offload port. */
  readonly tlsAtBalancer: boolean;
  /** The NLB's idle timeout for a TCP listener (TLS listeners: fixed at 350 s). */
  readonly idleTimeout?: Duration;
  readonly description: string;
}

export const MAIL_PORTS: readonly MailPort[] = [
  {
    name: 'smtp-25',
    role: 'smtp',
    listenerPort: 25,
    containerPort: 2525,
    setting: 'smtpPort',
    tlsAtBalancer: false,
    description: 'SMTP (MX), STARTTLS in the container',
  },
  {
    name: 'submission-587',
    role: 'smtp',
    listenerPort: 587,
    containerPort: 2587,
    setting: 'submissionPort',
    tlsAtBalancer: false,
    description: 'submission, STARTTLS in the container',
  },
  {
    name: 'submission-465',
    role: 'smtp',
    listenerPort: 465,
    containerPort: 2465,
    setting: 'submissionOffloadPort',
    tlsAtBalancer: true,
    description: 'submission over TLS, ended at the NLB',
  },
  {
    name: 'imap-143',
    role: 'access',
    listenerPort: 143,
    containerPort: 2143,
    setting: 'imapPort',
    tlsAtBalancer: false,
    // Just over the 30-minute autologout of an authenticated session (RFC 3501 §5.4).
    idleTimeout: Duration.seconds(1860),
    description: 'IMAP, STARTTLS in the container',
  },
  {
    name: 'imap-993',
    role: 'access',
    listenerPort: 993,
    containerPort: 2993,
    setting: 'imapOffloadPort',
    tlsAtBalancer: true,
    description: 'IMAP over TLS, ended at the NLB',
  },
  {
    name: 'pop3-110',
    role: 'access',
    listenerPort: 110,
    containerPort: 2110,
    setting: 'pop3Port',
    tlsAtBalancer: false,
    // Just over the POP3 server's 10-minute autologout (RFC 1939 §3).
    idleTimeout: Duration.seconds(660),
    description: 'POP3, STLS in the container',
  },
  {
    name: 'pop3-995',
    role: 'access',
    listenerPort: 995,
    containerPort: 2995,
    setting: 'pop3OffloadPort',
    tlsAtBalancer: true,
    description: 'POP3 over TLS, ended at the NLB',
  },
];

export interface MailServiceCapacity {
  /** Tasks at deploy time; default minCapacity. */
  readonly desiredCount?: number;
  /** Default 2: one per Availability Zone. */
  readonly minCapacity?: number;
  /** Default 6. */
  readonly maxCapacity?: number;
  /** Fargate CPU units; default 512. */
  readonly cpu?: number;
  /** Default 1024. */
  readonly memoryLimitMiB?: number;
}

export interface MailServicesProps {
  /** Default: a new VPC, 2 AZs, public and private-with-egress subnets, a NAT gateway per AZ, flow logs. */
  readonly vpc?: ec2.IVpc;
  /** Raw messages, under raw/ (lib/smtp/ids.ts rawBlobKey). */
  readonly bucket: s3.IBucket;
  /** The one DynamoDB table: directory, mailboxes, failure log (docs/dynamodb.md). */
  readonly table: dynamodb.ITableV2;
  /** Ingest jobs; the smtp task sends to it. */
  readonly queue: sqs.IQueue;
  /** Its dead-letter queue: only its URL is passed (the aws backend's configuration needs it). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The name in banners, Received: headers and the certificates (MAILROOM_HOSTNAME). */
  readonly mailHost: string;
  /** For the NLB's TLS listeners (465, 993, 995); in the stack's region, covering mailHost. */
  readonly certificate: acm.ICertificate;
  /** JSON {"key": PEM, "cert": PEM} for STARTTLS; default: an empty one made here for the operator to fill. */
  readonly tlsSecret?: secretsmanager.ISecret;
  /** Default: the repository's Dockerfile, built for cpuArchitecture. */
  readonly image?: ecs.ContainerImage;
  /** Default X86_64; must match the image (the default image is built to match). */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  readonly smtp?: MailServiceCapacity;
  readonly access?: MailServiceCapacity;
  /** Give each service its own NLB (then access needs a DNS name of its own). Default: one shared NLB. */
  readonly separateLoadBalancers?: boolean;
  /** NLB access logs (they cover the TLS listeners only). Default: none. */
  readonly accessLogs?: { readonly bucket: s3.IBucket; readonly prefix?: string };
  /** Container log retention; default one month. */
  readonly logRetention?: logs.RetentionDays;
  /** Called once per target group, e.g. with observability's addUnhealthyTargetAlarm. */
  readonly onTargetGroup?: (targetGroup: elbv2.NetworkTargetGroup, name: string) => void;
}

/** What each service is allowed to do with the stateful resources. */
const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
const TABLE_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];
const RAW_WRITE = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'];
const RAW_READ = ['s3:GetObject'];

export class MailServices extends Construct {
  readonly vpc: ec2.IVpc;
  readonly cluster: ecs.Cluster;
  /** The balancer of 25, 587 and 465. */
  readonly smtpLoadBalancer: elbv2.NetworkLoadBalancer;
  /** The balancer of 143, 993, 110 and 995: the same object as smtpLoadBalancer unless separateLoadBalancers. */
  readonly accessLoadBalancer: elbv2.NetworkLoadBalancer;
  /** Every distinct balancer (one, or two with separateLoadBalancers). */
  readonly loadBalancers: elbv2.NetworkLoadBalancer[];
  readonly services: Readonly<Record<ServiceRole, ecs.FargateService>>;
  readonly taskRoles: Readonly<Record<ServiceRole, iam.IRole>>;
  /** By MailPort name: smtp-25, submission-587, submission-465, imap-143, imap-993, pop3-110, pop3-995. */
  readonly targetGroups: Readonly<Record<string, elbv2.NetworkTargetGroup>>;
  readonly tlsSecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: MailServicesProps) {
    super(scope, id);
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.vpc = props.vpc ?? this.makeVpc();
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.tlsSecret = props.tlsSecret ?? this.makeTlsSecret();
    const image =
      props.image ??
      ecs.ContainerImage.fromAsset(REPO_ROOT, {
        ignoreMode: IgnoreMode.DOCKER,
        platform: cpuArchitecture === ecs.CpuArchitecture.ARM64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      });

    const smtpLb = this.makeLoadBalancer('LoadBalancer', props);
    const accessLb = props.separateLoadBalancers
      ? this.makeLoadBalancer('AccessLoadBalancer', props)
      : smtpLb;
    this.smtpLoadBalancer = smtpLb;
    this.accessLoadBalancer = accessLb;
    this.loadBalancers = smtpLb === accessLb ? [smtpLb] : [smtpLb, accessLb];

    const common = { props, image, cpuArchitecture };
    const smtp = this.makeService('smtp', { ...common, capacity: props.smtp, loadBalancer: smtpLb });
    const access = this.makeService('access', { ...common, capacity: props.access, loadBalancer: accessLb });
    this.services = { smtp: smtp.service, access: access.service };
    this.taskRoles = {
      smtp: smtp.service.taskDefinition.taskRole,
      access: access.service.taskDefinition.taskRole,
    };
    this.targetGroups = { ...smtp.targetGroups, ...access.targetGroups };

    this.grantSmtp(smtp.service.taskDefinition.taskRole, props);
    this.grantAccess(access.service.taskDefinition.taskRole, props);
    smtp.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: Duration.minutes(1),
      scaleInCooldown: Duration.minutes(5),
    });
    access.scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: Duration.minutes(1),
      scaleInCooldown: Duration.minutes(5),
    });
    access.scaling.scaleOnMemoryUtilization('Memory', {
      targetUtilizationPercent: 70,
      scaleOutCooldown: Duration.minutes(1),
      scaleInCooldown: Duration.minutes(5),
    });
    for (const [name, targetGroup] of Object.entries(this.targetGroups))
      props.onTargetGroup?.(targetGroup, name);

    this.loadBalancers.forEach((lb, i) => {
      new CfnOutput(this, i === 0 ? 'LoadBalancerDnsName' : 'AccessLoadBalancerDnsName', {
        value: lb.loadBalancerDnsName,
        description:
          i === 0
            ? `Point ${props.mailHost} (A alias) here`
            : 'Point the IMAP and POP3 host name here (separateLoadBalancers); the certificate must cover it',
      });
    });
    new CfnOutput(this, 'TlsSecretArn', {
      value: this.tlsSecret.secretArn,
      description: 'Put {"key": PEM, "cert": PEM} here for STARTTLS, then redeploy the services',
    });
  }

  private makeVpc(): ec2.Vpc {
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH });
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      // One per AZ: with a single one, losing its AZ leaves the other AZ's tasks without SQS,
      // so both would answer 451 to every message.
      natGateways: 2,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // S3 and DynamoDB traffic stays off the NAT gateways (free, and cheaper per byte).
      gatewayEndpoints: {
        s3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        dynamodb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: {
        all: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
  }

  private makeTlsSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'TlsCertificate', {
      description:
        'Mailroom STARTTLS key and certificate chain for 25/587/143/110: JSON {"key": PEM, "cert": PEM}. ' +
        'Empty: the containers use a self-signed certificate.',
      // Created empty once; the operator's value is never overwritten, because this template
      // value does not change.
      secretObjectValue: { key: SecretValue.unsafePlainText(''), cert: SecretValue.unsafePlainText('') },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A TLS key and certificate issued by a CA outside AWS: renewing it means a new certificate from ' +
        'that CA, which Secrets Manager rotation cannot do. The operator replaces it before expiry; ' +
        'the containers log the expiry date at every start and warn three weeks ahead.',
    });
    return secret;
  }

  private makeLoadBalancer(id: string, props: MailServicesProps): elbv2.NetworkLoadBalancer {
    const securityGroup = new ec2.SecurityGroup(this, `${id}SecurityGroup`, {
      vpc: this.vpc,
      description: 'Mailroom NLB: the mail ports from anywhere',
      allowAllOutbound: false,
    });
    const lb = new elbv2.NetworkLoadBalancer(this, id, {
      vpc: this.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [securityGroup],
      // A client holds one of the NLB's addresses; any AZ's node must reach a healthy task.
      crossZoneEnabled: true,
    });
    Validations.of(securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'Mail is public: senders (25) and mail clients (587, 465, 143, 993, 110, 995) connect from any ' +
        'address. Only those ports are open; the tasks behind admit traffic from this group alone.',
    });
    if (props.accessLogs) {
      lb.logAccessLogs(props.accessLogs.bucket, props.accessLogs.prefix);
    } else {
      Validations.of(lb).acknowledge({
        id: 'AwsSolutions-ELB2',
        reason:
          'NLB access logs record TLS listeners only (465, 993, 995), not 25/587/143/110. Every session is ' +
          'logged by the containers with the client address (client IP preservation). Pass accessLogs ' +
          'with a log bucket to have them too.',
      });
    }
    return lb;
  }

  private makeService(
    role: ServiceRole,
    options: {
      props: MailServicesProps;
      image: ecs.ContainerImage;
      cpuArchitecture: ecs.CpuArchitecture;
      capacity: MailServiceCapacity | undefined;
      loadBalancer: elbv2.NetworkLoadBalancer;
    },
  ) {
    const { props, capacity = {}, loadBalancer } = options;
    const title = role === 'smtp' ? 'Smtp' : 'Access';
    const ports = MAIL_PORTS.filter((p) => p.role === role);
    const minCapacity = capacity.minCapacity ?? 2;
    const maxCapacity = Math.max(capacity.maxCapacity ?? 6, minCapacity);

    const taskDefinition = new ecs.FargateTaskDefinition(this, `${title}Task`, {
      cpu: capacity.cpu ?? 512,
      memoryLimitMiB: capacity.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: options.cpuArchitecture,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = new logs.LogGroup(this, `${title}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    const environment: Record<string, string> = {
      [ENV_NAMES.backend]: 'aws',
      [ENV_NAMES.awsRegion]: Stack.of(this).region,
      [ENV_NAMES.table]: props.table.tableName,
      [ENV_NAMES.bucket]: props.bucket.bucketName,
      [ENV_NAMES.queueUrl]: props.queue.queueUrl,
      [ENV_NAMES.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
      [ENV_NAMES.host]: '0.0.0.0',
      [ENV_NAMES.hostname]: props.mailHost,
      [ENV_NAMES.healthPort]: String(HEALTH_PORT),
      [ENV_NAMES.drainSeconds]: String(DRAIN_SECONDS),
      [ENV_NAMES.logLevel]: 'info',
    };
    for (const port of ports) environment[ENV_NAMES[port.setting]] = String(port.containerPort);
    const container = taskDefinition.addContainer(role, {
      image: options.image,
      command: ['--json', role],
      environment,
      secrets: {
        [ENV_NAMES.tlsKeyPem]: ecs.Secret.fromSecretsManager(this.tlsSecret, 'key'),
        [ENV_NAMES.tlsCertPem]: ecs.Secret.fromSecretsManager(this.tlsSecret, 'cert'),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: role, logGroup }),
      portMappings: [...ports.map((p) => p.containerPort), HEALTH_PORT].map((containerPort) => ({
        containerPort,
        protocol: ecs.Protocol.TCP,
      })),
      stopTimeout: STOP_TIMEOUT,
      // tini as PID 1: forwards SIGTERM to the CLI and reaps what it spawns (openssl).
      linuxParameters: new ecs.LinuxParameters(this, `${title}LinuxParameters`, { initProcessEnabled: true }),
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds names, ports and the host name only (lib/config.ts). The one secret, ' +
        'the STARTTLS key, comes from Secrets Manager through ECS secrets.',
    });
    // CDK's execution role needs ecr:GetAuthorizationToken, which has no resource to scope to.
    Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken cannot be scoped to a resource (CDK adds it to pull the image).',
    });

    const securityGroup = new ec2.SecurityGroup(this, `${title}SecurityGroup`, {
      vpc: this.vpc,
      description: `Mailroom ${role} tasks: mail ports and health check from the NLB only`,
      allowAllOutbound: false,
    });
    // The AWS APIs (S3, SQS, DynamoDB, Secrets Manager, ECR, CloudWatch Logs), all over HTTPS.
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs over HTTPS');
    const service = new ecs.FargateService(this, `${title}Service`, {
      cluster: this.cluster,
      taskDefinition,
      desiredCount: capacity.desiredCount ?? minCapacity,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      // tsx compiles the sources at start; the first health checks may come before the listeners.
      healthCheckGracePeriod: Duration.seconds(60),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      assignPublicIp: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });

    const lbConnections = loadBalancer.connections;
    const targetGroups: Record<string, elbv2.NetworkTargetGroup> = {};
    const deregistrationDelay = Duration.seconds(role === 'smtp' ? 120 : 30);
    for (const port of ports) {
      lbConnections.allowFromAnyIpv4(ec2.Port.tcp(port.listenerPort), port.description);
      service.connections.allowFrom(
        lbConnections,
        ec2.Port.tcp(port.containerPort),
        `${port.name} from the NLB`,
      );
      const listener = loadBalancer.addListener(`Listener${port.listenerPort}`, {
        port: port.listenerPort,
        ...(port.tlsAtBalancer
          ? {
              protocol: elbv2.Protocol.TLS,
              certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
              sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
            }
          : {
              protocol: elbv2.Protocol.TCP,
              ...(port.idleTimeout ? { tcpIdleTimeout: port.idleTimeout } : {}),
            }),
      });
      const targetGroup = listener.addTargets(`Target${port.listenerPort}`, {
        port: port.containerPort,
        protocol: elbv2.Protocol.TCP,
        targets: [
          service.loadBalancerTarget({
            containerName: container.containerName,
            containerPort: port.containerPort,
          }),
        ],
        preserveClientIp: true,
        deregistrationDelay,
        healthCheck: {
          protocol: elbv2.Protocol.HTTP,
          port: String(HEALTH_PORT),
          path: HEALTH_PATH,
          healthyHttpCodes: '200',
          interval: HEALTH_INTERVAL,
          timeout: Duration.seconds(5),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: UNHEALTHY_THRESHOLD,
        },
      });
      // A failed health check stops new connections but keeps the open sessions for as long
      // as a deregistration would (NLB "unhealthy.draining").
      targetGroup.setAttribute('target_health_state.unhealthy.connection_termination.enabled', 'false');
      targetGroup.setAttribute(
        'target_health_state.unhealthy.draining_interval_seconds',
        String(deregistrationDelay.toSeconds()),
      );
      targetGroups[port.name] = targetGroup;
    }
    service.connections.allowFrom(lbConnections, ec2.Port.tcp(HEALTH_PORT), 'health check from the NLB');

    const scaling = service.autoScaleTaskCount({ minCapacity, maxCapacity });
    return { service, targetGroups, scaling };
  }

  /** Ingress: write the raw message, queue the job, read the directory. */
  private grantSmtp(role: iam.IRole, props: MailServicesProps): void {
    this.rawObjectsPolicy('smtp', role, props.bucket, RAW_WRITE);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: TABLE_READ, resources: [props.table.tableArn] }),
    );
    grantKey(props.bucket.encryptionKey, role, ['kms:GenerateDataKey', 'kms:Decrypt']);
    grantKey(props.queue.encryptionMasterKey, role, ['kms:GenerateDataKey', 'kms:Decrypt']);
    grantKey(props.table.encryptionKey, role, ['kms:Decrypt']);
  }

  /** Access: read bodies (and store APPENDed ones), read and write mailboxes. */
  private grantAccess(role: iam.IRole, props: MailServicesProps): void {
    this.rawObjectsPolicy('access', role, props.bucket, [...RAW_READ, ...RAW_WRITE]);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...TABLE_READ, ...TABLE_WRITE],
        resources: [props.table.tableArn],
      }),
    );
    grantKey(props.bucket.encryptionKey, role, ['kms:GenerateDataKey', 'kms:Decrypt']);
    grantKey(props.table.encryptionKey, role, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
  }

  /**
   * The object permissions under raw/, in a policy of their own: the one wildcard cdk-nag has
   * to accept (object keys) is acknowledged there and nowhere else.
   */
  private rawObjectsPolicy(
    role: ServiceRole,
    principal: iam.IRole,
    bucket: s3.IBucket,
    actions: string[],
  ): void {
    const policy = new iam.Policy(this, `${role === 'smtp' ? 'Smtp' : 'Access'}RawObjects`, {
      statements: [new iam.PolicyStatement({ actions, resources: [bucket.arnForObjects('raw/*')] })],
    });
    principal.attachInlinePolicy(policy);
    // cdk-nag takes a wildcard finding only by its exact text, which spells the bucket ARN as
    // the template does (a cross-stack import, say): known once references are resolved, that
    // is when construct validation runs. Only findings for raw/* are acknowledged.
    policy.node.addValidation({
      validate: () => {
        const findings = nagRules.iam.IAMNoWildcardPermissions(policy.node.defaultChild as CfnResource);
        for (const finding of Array.isArray(findings) ? findings : []) {
          if (!/^Resource::.*\/raw\/\*$/.test(finding)) continue;
          Validations.of(policy).acknowledge({
            id: `AwsSolutions-IAM5[${finding}]`,
            reason:
              'Object keys are made per message (raw/<yyyy>/<mm>/<dd>/<id>.eml), so the resource is the ' +
              'raw/ prefix of the bucket; the actions are listed one by one.',
          });
        }
        return [];
      },
    });
  }
}

function grantKey(key: kms.IKey | undefined, role: iam.IRole, actions: string[]): void {
  key?.grant(role, ...actions);
}
