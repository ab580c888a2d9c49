import { beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV_NAMES, loadConfig, type Config } from '../../lib/config.js';
import {
  DRAIN_SECONDS,
  HEALTH_PORT,
  MAIL_PORTS,
  MailServices,
  type MailServicesProps,
} from '../../infra/constructs/mail-services.js';

/*
 * The MailServices construct on a small stack whose stateful resources are imported by ARN
 * (as the service stack gets them from the stateful stack), synthesised offline: listeners,
 * target groups, the containers and their environment, IAM, security groups, scaling, and
 * cdk-nag's AwsSolutions checks.
 */

const ENV = { account: '123456789012', region: 'eu-west-1' };
const ARN = {
  bucket: 'arn:aws:s3:::mailroom-raw',
  table: 'arn:aws:dynamodb:eu-west-1:123456789012:table/mailroom',
  queue: 'arn:aws:sqs:eu-west-1:123456789012:mailroom-ingest',
  dlq: 'arn:aws:sqs:eu-west-1:123456789012:mailroom-ingest-dlq',
  certificate: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
  key: 'arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000',
  secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mailroom-tls-AbCdEf',
};
const MAIL_HOST = 'mail.example.test';
const REGISTRY_IMAGE = ecs.ContainerImage.fromRegistry('public.ecr.aws/example/mailroom:test');

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}

interface Built {
  app: App;
  stack: Stack;
  services: MailServices;
  template: Template;
  resources: Record<string, Resource>;
  targetGroupNames: string[];
}

/** GIVEN a stack with the stateful resources imported by ARN, WHEN MailServices is added. */
function build(
  overrides: Partial<MailServicesProps> = {},
  stateful: (stack: Stack) => Partial<MailServicesProps> = () => ({}),
): Built {
  const app = new App();
  const stack = new Stack(app, 'MailServicesTest', { env: ENV });
  const targetGroupNames: string[] = [];
  const services = new MailServices(stack, 'Mail', {
    bucket: s3.Bucket.fromBucketArn(stack, 'Bucket', ARN.bucket),
    table: dynamodb.TableV2.fromTableArn(stack, 'Table', ARN.table),
    queue: sqs.Queue.fromQueueArn(stack, 'Queue', ARN.queue),
    deadLetterQueue: sqs.Queue.fromQueueArn(stack, 'DeadLetterQueue', ARN.dlq),
    mailHost: MAIL_HOST,
    certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', ARN.certificate),
    onTargetGroup: (_targetGroup, name) => targetGroupNames.push(name),
    ...stateful(stack),
    ...overrides,
  });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  return { app, stack, services, template, resources, targetGroupNames };
}

function ofType(built: Built, type: string): [string, Json][] {
  return Object.entries(built.resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties]);
}

function ref(value: unknown): string {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return v.Ref ?? v['Fn::GetAtt']?.[0] ?? JSON.stringify(value);
}

interface Container {
  Command: string[];
  Environment: { Name: string; Value: unknown }[];
  Secrets: { Name: string; ValueFrom: unknown }[];
  PortMappings: { ContainerPort: number }[];
  StopTimeout: number;
  LinuxParameters?: { InitProcessEnabled?: boolean };
}

/** The task definition and its one container, by the command's role. */
function task(built: Built, role: 'smtp' | 'access') {
  for (const [id, props] of ofType(built, 'AWS::ECS::TaskDefinition')) {
    const container = (props.ContainerDefinitions as Container[])[0]!;
    if (container.Command.at(-1) === role) return { id, props, container };
  }
  throw new Error(`no task definition for ${role}`);
}

/** The container's environment as the task would see it; values CloudFormation fills in are stood in for. */
function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { Name, Value } of container.Environment) {
    env[Name] =
      typeof Value === 'string'
        ? Value
        : Name.endsWith('_URL')
          ? `https://sqs.eu-west-1.amazonaws.com/123456789012/${Name.toLowerCase()}`
          : `resolved-${Name.toLowerCase()}`;
  }
  return env;
}

/** Every statement of every policy attached to a role, by the role's logical id. */
function statementsOf(built: Built, roleId: string): { Action: string | string[]; Resource: unknown }[] {
  return ofType(built, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Roles as unknown[]).some((r) => ref(r) === roleId))
    .flatMap(
      ([, p]) =>
        (p.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
    );
}

const actions = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const flat = (value: unknown) => JSON.stringify(value);

function listeners(built: Built) {
  return ofType(built, 'AWS::ElasticLoadBalancingV2::Listener').map(([id, p]) => ({
    id,
    port: p.Port as number,
    protocol: p.Protocol as string,
    certificates: p.Certificates as { CertificateArn: string }[] | undefined,
    sslPolicy: p.SslPolicy as string | undefined,
    attributes: (p.ListenerAttributes as { Key: string; Value: string }[] | undefined) ?? [],
    loadBalancer: ref(p.LoadBalancerArn),
    targetGroup: ref((p.DefaultActions as { TargetGroupArn: unknown }[])[0]!.TargetGroupArn),
  }));
}

function attributes(props: Json): Record<string, string> {
  return Object.fromEntries(
    (props.TargetGroupAttributes as { Key: string; Value: string }[]).map((a) => [a.Key, a.Value]),
  );
}

function nagViolations(app: App, scope: Stack) {
  return new AwsSolutionsChecks(app).validateScope(scope).violations.map((v) => ({
    rule: v.ruleName,
    where: v.violatingResources.map((r) => r.constructPath),
  }));
}

describe('MailServices', () => {
  let built: Built;

  beforeAll(() => {
    built = build();
  }, 60_000);

  describe('listeners and target groups', () => {
    it('listens on 25, 587, 143 and 110 as TCP, and on 465, 993 and 995 as TLS with the ACM certificate', () => {
      const byPort = new Map(listeners(built).map((l) => [l.port, l]));
      expect([...byPort.keys()].sort((a, b) => a - b)).toEqual([25, 110, 143, 465, 587, 993, 995]);
      for (const port of [25, 587, 143, 110]) {
        expect(byPort.get(port)).toMatchObject({ protocol: 'TCP', certificates: undefined });
      }
      for (const port of [465, 993, 995]) {
        expect(byPort.get(port)).toMatchObject({
          protocol: 'TLS',
          certificates: [{ CertificateArn: ARN.certificate }],
          sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        });
      }
    });

    it('keeps idle IMAP and POP3 connections on the TCP listeners past the servers own autologout', () => {
      const idle = (port: number) =>
        listeners(built)
          .find((l) => l.port === port)!
          .attributes.find((a) => a.Key === 'tcp.idle_timeout.seconds')?.Value;
      expect(Number(idle(143))).toBeGreaterThan(30 * 60);
      expect(Number(idle(110))).toBeGreaterThan(10 * 60);
    });

    it('forwards every listener to the container port that container is configured to listen on', () => {
      const tgs = Object.fromEntries(ofType(built, 'AWS::ElasticLoadBalancingV2::TargetGroup'));
      const services = Object.fromEntries(ofType(built, 'AWS::ECS::Service'));
      for (const port of MAIL_PORTS) {
        const listener = listeners(built).find((l) => l.port === port.listenerPort)!;
        const targetGroup = tgs[listener.targetGroup]!;
        expect(targetGroup.Port).toBe(port.containerPort);
        // The container reads that port from the setting lib/config.ts names...
        const { id: taskId, container } = task(built, port.role);
        const config = loadConfig({}, environmentOf(container));
        expect(config[port.setting]).toBe(port.containerPort);
        // ...and the service of that task registers it in that target group.
        const service = Object.values(services).find((s) => ref(s.TaskDefinition) === taskId)!;
        expect(service.LoadBalancers).toContainEqual({
          ContainerName: port.role,
          ContainerPort: port.containerPort,
          TargetGroupArn: { Ref: listener.targetGroup },
        });
      }
    });

    it('health-checks every target group over HTTP on the health port at /health', () => {
      const tgs = ofType(built, 'AWS::ElasticLoadBalancingV2::TargetGroup');
      expect(tgs).toHaveLength(7);
      for (const [, tg] of tgs) {
        expect(tg).toMatchObject({
          Protocol: 'TCP',
          TargetType: 'ip',
          HealthCheckProtocol: 'HTTP',
          HealthCheckPort: String(HEALTH_PORT),
          HealthCheckPath: '/health',
          Matcher: { HttpCode: '200' },
        });
      }
    });

    it('preserves the client address in every target group (Received: headers and logs see the sender)', () => {
      for (const [, tg] of ofType(built, 'AWS::ElasticLoadBalancingV2::TargetGroup')) {
        expect(attributes(tg)['preserve_client_ip.enabled']).toBe('true');
        expect(attributes(tg)['proxy_protocol_v2.enabled']).toBeUndefined();
      }
    });

    it('hands each target group to onTargetGroup under its name', () => {
      expect(built.targetGroupNames.sort()).toEqual(MAIL_PORTS.map((p) => p.name).sort());
      expect(Object.keys(built.services.targetGroups).sort()).toEqual(built.targetGroupNames);
    });

    it('puts both services behind one internet-facing NLB by default (one name, mailHost), or two on request', () => {
      const lbs = ofType(built, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
      expect(lbs).toHaveLength(1);
      expect(lbs[0]![1]).toMatchObject({ Type: 'network', Scheme: 'internet-facing' });
      expect(built.services.smtpLoadBalancer).toBe(built.services.accessLoadBalancer);

      const separate = build({ separateLoadBalancers: true, image: REGISTRY_IMAGE });
      expect(ofType(separate, 'AWS::ElasticLoadBalancingV2::LoadBalancer')).toHaveLength(2);
      const lbOf = (port: number) => listeners(separate).find((l) => l.port === port)!.loadBalancer;
      expect(new Set([25, 587, 465].map(lbOf)).size).toBe(1);
      expect(new Set([143, 993, 110, 995].map(lbOf)).size).toBe(1);
      expect(lbOf(25)).not.toBe(lbOf(143));
      expect(nagViolations(separate.app, separate.stack)).toEqual([]);
    }, 60_000);
  });

  describe('draining', () => {
    it('gives open sessions time: deregistration delay, unhealthy draining, stop timeout', () => {
      const tgs = Object.fromEntries(ofType(built, 'AWS::ElasticLoadBalancingV2::TargetGroup'));
      for (const port of MAIL_PORTS) {
        const tg = tgs[listeners(built).find((l) => l.port === port.listenerPort)!.targetGroup]!;
        const delay = port.role === 'smtp' ? '120' : '30';
        expect(attributes(tg)).toMatchObject({
          'deregistration_delay.timeout_seconds': delay,
          'target_health_state.unhealthy.connection_termination.enabled': 'false',
          'target_health_state.unhealthy.draining_interval_seconds': delay,
        });
      }
      for (const role of ['smtp', 'access'] as const) {
        const { container } = task(built, role);
        expect(container.StopTimeout).toBe(120);
        expect(container.LinuxParameters?.InitProcessEnabled).toBe(true);
      }
    });

    it('waits MAILROOM_DRAIN_SECONDS >= health check interval x unhealthy threshold, and still stops before SIGKILL', () => {
      for (const role of ['smtp', 'access'] as const) {
        const { container } = task(built, role);
        const drain = Number(environmentOf(container)[ENV_NAMES.drainSeconds]);
        expect(drain).toBe(DRAIN_SECONDS);
        for (const [, tg] of ofType(built, 'AWS::ElasticLoadBalancingV2::TargetGroup')) {
          expect(drain).toBeGreaterThanOrEqual(
            (tg.HealthCheckIntervalSeconds as number) * (tg.UnhealthyThresholdCount as number),
          );
        }
        expect(drain + 30).toBeLessThan(container.StopTimeout);
      }
    });
  });

  describe('containers', () => {
    it('run `mailroom smtp` and `mailroom access` with JSON logs', () => {
      expect(task(built, 'smtp').container.Command).toEqual(['--json', 'smtp']);
      expect(task(built, 'access').container.Command).toEqual(['--json', 'access']);
    });

    it('are configured only through names lib/config.ts reads, and it accepts what they are given', () => {
      const known = new Set(Object.values(ENV_NAMES));
      for (const role of ['smtp', 'access'] as const) {
        const { container } = task(built, role);
        const env = environmentOf(container);
        for (const name of Object.keys(env)) expect(known, name).toContain(name);
        expect(container.Secrets.map((s) => s.Name).sort()).toEqual(
          [ENV_NAMES.tlsCertPem, ENV_NAMES.tlsKeyPem].sort(),
        );
        const config = loadConfig({}, { ...env, [ENV_NAMES.tlsKeyPem]: 'k', [ENV_NAMES.tlsCertPem]: 'c' });
        expect(config).toMatchObject<Partial<Config>>({
          backend: 'aws',
          host: '0.0.0.0',
          hostname: MAIL_HOST,
          awsRegion: ENV.region,
          table: 'mailroom',
          bucket: 'mailroom-raw',
          healthPort: HEALTH_PORT,
          allowInsecureAuth: false,
          tlsKeyPem: 'k',
          tlsCertPem: 'c',
        });
        expect(config.submissionTlsPort).toBeUndefined();
      }
      const access = loadConfig({}, environmentOf(task(built, 'access').container));
      expect(access).toMatchObject({ imapOffloadPort: 2993, pop3OffloadPort: 2995 });
      const smtp = loadConfig({}, environmentOf(task(built, 'smtp').container));
      expect(smtp).toMatchObject({ submissionOffloadPort: 2465 });
    });

    it('listen only on unprivileged ports (the image runs as a non-root user)', () => {
      for (const role of ['smtp', 'access'] as const) {
        const ports = task(built, role).container.PortMappings.map((m) => m.ContainerPort);
        expect(ports).toContain(HEALTH_PORT);
        for (const port of ports) expect(port).toBeGreaterThan(1024);
      }
    });

    it('run on the CPU the default image is built for (X86_64, linux/amd64; ARM64, linux/arm64)', () => {
      const platformOf = (b: Built) => {
        const manifest = b.app
          .synth()
          .artifacts.find((a) => a.id === `${b.stack.artifactId}.assets`) as unknown as {
          contents: { dockerImages: Record<string, { source: { platform?: string; directory?: string } }> };
        };
        return Object.values(manifest.contents.dockerImages).map((i) => i.source.platform);
      };
      expect(task(built, 'smtp').props.RuntimePlatform).toEqual({
        CpuArchitecture: 'X86_64',
        OperatingSystemFamily: 'LINUX',
      });
      expect(new Set(platformOf(built))).toEqual(new Set(['linux/amd64']));

      const arm = build({ cpuArchitecture: ecs.CpuArchitecture.ARM64 });
      expect(task(arm, 'access').props.RuntimePlatform).toMatchObject({ CpuArchitecture: 'ARM64' });
      expect(new Set(platformOf(arm))).toEqual(new Set(['linux/arm64']));
    }, 60_000);

    it('get the STARTTLS key from a placeholder secret made here, or from the secret given', () => {
      const secrets = ofType(built, 'AWS::SecretsManager::Secret');
      expect(secrets).toHaveLength(1);
      expect(JSON.parse(secrets[0]![1].SecretString as string)).toEqual({ key: '', cert: '' });
      const valueFrom = task(built, 'smtp').container.Secrets.map((s) => flat(s.ValueFrom));
      for (const v of valueFrom) expect(v).toContain(secrets[0]![0]);

      const given = build({ image: REGISTRY_IMAGE }, (stack) => ({
        tlsSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'TlsSecret', ARN.secret),
      }));
      expect(ofType(given, 'AWS::SecretsManager::Secret')).toHaveLength(0);
      const secretsOfAccess = task(given, 'access').container.Secrets;
      expect(secretsOfAccess).toContainEqual({ Name: ENV_NAMES.tlsKeyPem, ValueFrom: `${ARN.secret}:key::` });
      expect(secretsOfAccess).toContainEqual({
        Name: ENV_NAMES.tlsCertPem,
        ValueFrom: `${ARN.secret}:cert::`,
      });
    }, 60_000);
  });

  describe('IAM, least privilege', () => {
    const rawObjects = flat(`${ARN.bucket}/raw/*`);
    const taskRoleOf = (b: Built, role: 'smtp' | 'access') => ref(task(b, role).props.TaskRoleArn);
    const executionRoleOf = (b: Built, role: 'smtp' | 'access') => ref(task(b, role).props.ExecutionRoleArn);

    it('smtp: writes raw messages under raw/, sends to the ingest queue, reads the table; nothing else', () => {
      const statements = statementsOf(built, taskRoleOf(built, 'smtp'));
      expect(statements.map((s) => [actions(s).sort(), flat(s.Resource)]).sort()).toEqual(
        [
          [['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject'], rawObjects],
          [['sqs:SendMessage'], flat(ARN.queue)],
          [['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'], flat(ARN.table)],
        ].sort(),
      );
    });

    it('access: reads and stores (APPEND) raw messages under raw/, reads and writes the table; no queue', () => {
      const statements = statementsOf(built, taskRoleOf(built, 'access'));
      expect(statements.map((s) => [actions(s).sort(), flat(s.Resource)]).sort()).toEqual(
        [
          [['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'], rawObjects],
          [
            [
              'dynamodb:BatchGetItem',
              'dynamodb:BatchWriteItem',
              'dynamodb:ConditionCheckItem',
              'dynamodb:DeleteItem',
              'dynamodb:GetItem',
              'dynamodb:PutItem',
              'dynamodb:Query',
              'dynamodb:UpdateItem',
            ],
            flat(ARN.table),
          ],
        ].sort(),
      );
      expect(statements.flatMap(actions).filter((a) => a.startsWith('sqs:'))).toEqual([]);
    });

    it('lets only the execution roles read the TLS secret, and nothing else of Secrets Manager', () => {
      const secretId = ofType(built, 'AWS::SecretsManager::Secret')[0]![0];
      for (const role of ['smtp', 'access'] as const) {
        expect(statementsOf(built, taskRoleOf(built, role)).flatMap(actions).join()).not.toMatch(
          /secretsmanager/,
        );
        const reads = statementsOf(built, executionRoleOf(built, role)).filter((s) =>
          actions(s).some((a) => a.startsWith('secretsmanager:')),
        );
        expect(reads).toHaveLength(1);
        expect(reads[0]!.Resource).toEqual({ Ref: secretId });
        expect(actions(reads[0]!).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
      }
    });

    it('uses a customer key of the bucket, queue or table only for what each task does with them', () => {
      const keyed = build({ image: REGISTRY_IMAGE }, (stack) => {
        const key = kms.Key.fromKeyArn(stack, 'Key', ARN.key);
        return {
          bucket: s3.Bucket.fromBucketAttributes(stack, 'KeyedBucket', {
            bucketArn: ARN.bucket,
            encryptionKey: key,
          }),
          table: dynamodb.TableV2.fromTableAttributes(stack, 'KeyedTable', {
            tableArn: ARN.table,
            encryptionKey: key,
          }),
          queue: sqs.Queue.fromQueueAttributes(stack, 'KeyedQueue', { queueArn: ARN.queue, keyArn: ARN.key }),
        };
      });
      const kmsActions = (role: 'smtp' | 'access') =>
        statementsOf(keyed, taskRoleOf(keyed, role))
          .filter((s) => actions(s).some((a) => a.startsWith('kms:')))
          .map((s) => {
            expect(s.Resource).toBe(ARN.key);
            return actions(s);
          })
          .flat();
      expect(new Set(kmsActions('smtp'))).toEqual(new Set(['kms:GenerateDataKey', 'kms:Decrypt']));
      expect(new Set(kmsActions('access'))).toEqual(
        new Set(['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt']),
      );
      expect(nagViolations(keyed.app, keyed.stack)).toEqual([]);
    }, 60_000);
  });

  describe('network', () => {
    it('admits the mail ports from anywhere at the balancer, and at the tasks only what comes from the balancer', () => {
      const groups = Object.fromEntries(ofType(built, 'AWS::EC2::SecurityGroup'));
      const lbGroup = Object.keys(groups).find((id) => id.includes('LoadBalancerSecurityGroup'))!;
      const inline = (
        groups[lbGroup]!.SecurityGroupIngress as { CidrIp: string; FromPort: number; ToPort: number }[]
      ).map((r) => [r.CidrIp, r.FromPort, r.ToPort]);
      expect(inline.sort()).toEqual(
        MAIL_PORTS.map((p) => ['0.0.0.0/0', p.listenerPort, p.listenerPort]).sort(),
      );

      for (const role of ['Smtp', 'Access']) {
        const taskGroup = Object.keys(groups).find((id) => id.startsWith(`Mail${role}SecurityGroup`))!;
        expect(groups[taskGroup]!.SecurityGroupIngress).toBeUndefined();
        expect(groups[taskGroup]!.SecurityGroupEgress).toEqual([
          expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
        ]);
        const rules = ofType(built, 'AWS::EC2::SecurityGroupIngress')
          .map(([, r]) => r)
          .filter((r) => ref(r.GroupId) === taskGroup);
        for (const rule of rules) expect(ref(rule.SourceSecurityGroupId)).toBe(lbGroup);
        const expected = [
          ...MAIL_PORTS.filter((p) => p.role === role.toLowerCase()).map((p) => p.containerPort),
          HEALTH_PORT,
        ];
        expect(rules.map((r) => r.FromPort).sort()).toEqual(expected.sort());
      }
    });

    it('runs the tasks in private subnets without public addresses', () => {
      for (const [, service] of ofType(built, 'AWS::ECS::Service')) {
        expect(service.NetworkConfiguration).toMatchObject({
          AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' },
        });
      }
    });

    it('makes a VPC over 2 AZs with flow logs when none is given, and uses the one given otherwise', () => {
      built.template.resourceCountIs('AWS::EC2::VPC', 1);
      built.template.resourceCountIs('AWS::EC2::NatGateway', 2);
      built.template.resourceCountIs('AWS::EC2::FlowLog', 1);
      expect(ofType(built, 'AWS::EC2::Subnet')).toHaveLength(4);

      const app = new App();
      const network = new Stack(app, 'Network', { env: ENV });
      const vpc = new ec2.Vpc(network, 'Shared', { maxAzs: 2 });
      const stack = new Stack(app, 'Services', { env: ENV });
      new MailServices(stack, 'Mail', {
        vpc,
        image: REGISTRY_IMAGE,
        bucket: s3.Bucket.fromBucketArn(stack, 'Bucket', ARN.bucket),
        table: dynamodb.TableV2.fromTableArn(stack, 'Table', ARN.table),
        queue: sqs.Queue.fromQueueArn(stack, 'Queue', ARN.queue),
        deadLetterQueue: sqs.Queue.fromQueueArn(stack, 'DeadLetterQueue', ARN.dlq),
        mailHost: MAIL_HOST,
        certificate: acm.Certificate.fromCertificateArn(stack, 'Certificate', ARN.certificate),
      });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::EC2::VPC', 0);
      template.resourceCountIs('AWS::EC2::FlowLog', 0);
      template.resourceCountIs('AWS::ECS::Service', 2);
      expect(nagViolations(app, stack)).toEqual([]);
    }, 60_000);
  });

  describe('scaling', () => {
    it('scales each service between its minimum and maximum on CPU, access also on memory', () => {
      const targets = ofType(built, 'AWS::ApplicationAutoScaling::ScalableTarget');
      expect(targets).toHaveLength(2);
      for (const [, target] of targets) expect(target).toMatchObject({ MinCapacity: 2, MaxCapacity: 6 });
      const metrics = ofType(built, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => {
        const config = p.TargetTrackingScalingPolicyConfiguration as {
          PredefinedMetricSpecification: { PredefinedMetricType: string };
        };
        return `${ref(p.ScalingTargetId)}:${config.PredefinedMetricSpecification.PredefinedMetricType}`;
      });
      const [smtpTarget, accessTarget] = ['Smtp', 'Access'].map(
        (role) => targets.find(([id]) => id.startsWith(`Mail${role}`))![0],
      );
      expect(metrics.sort()).toEqual(
        [
          `${smtpTarget}:ECSServiceAverageCPUUtilization`,
          `${accessTarget}:ECSServiceAverageCPUUtilization`,
          `${accessTarget}:ECSServiceAverageMemoryUtilization`,
        ].sort(),
      );
    });

    it('takes the capacity of each service from its props', () => {
      const sized = build({
        image: REGISTRY_IMAGE,
        smtp: { minCapacity: 3, maxCapacity: 10 },
        access: { desiredCount: 4, minCapacity: 2, maxCapacity: 8, cpu: 1024, memoryLimitMiB: 2048 },
      });
      const targets = ofType(sized, 'AWS::ApplicationAutoScaling::ScalableTarget').map(([id, t]) => [
        id.startsWith('MailSmtp') ? 'smtp' : 'access',
        t.MinCapacity,
        t.MaxCapacity,
      ]);
      expect(targets.sort()).toEqual([
        ['access', 2, 8],
        ['smtp', 3, 10],
      ]);
      expect(task(sized, 'access').props).toMatchObject({ Cpu: '1024', Memory: '2048' });
      const desired = ofType(sized, 'AWS::ECS::Service').map(([, s]) => s.DesiredCount);
      expect(desired.sort()).toEqual([3, 4]);
    }, 60_000);
  });

  describe('cdk-nag', () => {
    it('passes the AwsSolutions checks, every exception acknowledged in the construct with its reason', () => {
      expect(nagViolations(built.app, built.stack)).toEqual([]);
    });

    it('writes NLB access logs to the bucket given, and then needs no ELB2 acknowledgement', () => {
      const logged = build({ image: REGISTRY_IMAGE }, (stack) => ({
        accessLogs: { bucket: s3.Bucket.fromBucketName(stack, 'LogBucket', 'mailroom-logs'), prefix: 'nlb' },
      }));
      const [[, lb]] = ofType(logged, 'AWS::ElasticLoadBalancingV2::LoadBalancer') as [[string, Json]];
      expect(lb.LoadBalancerAttributes).toEqual(
        expect.arrayContaining([
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: 'mailroom-logs' },
          { Key: 'access_logs.s3.prefix', Value: 'nlb' },
        ]),
      );
      const acknowledged = logged.services.smtpLoadBalancer.node.metadata
        .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
        .flatMap((m) => Object.keys(m.data as object));
      expect(acknowledged.join()).not.toMatch(/ELB2/);
      expect(nagViolations(logged.app, logged.stack)).toEqual([]);
    }, 60_000);
  });
});
