import { describe, expect, it } from 'vitest';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  ACTIVATION_HANDLER_SOURCE,
  ACTIVATION_RESOURCE_TYPE,
  RULE_NAME,
  SES_PREFIX,
  SesIngress,
  type SesIngressProps,
} from '../../infra/constructs/ses-ingress.js';
import { nagViolations } from '../../infra/nag.js';

const ENV = { account: '111111111111', region: 'eu-west-1' };

/**
 * GIVEN the layout of infra/app.ts: the bucket and the queue in a stack of their own, the
 * SES receiving in the service stack.
 */
function build(props: Partial<SesIngressProps> = {}) {
  const app = new App();
  const data = new Stack(app, 'Data', { env: ENV });
  const bucket = new s3.Bucket(data, 'Mail', {
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
  });
  const deadLetters = new sqs.Queue(data, 'DeadLetters', {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
  });
  const queue = new sqs.Queue(data, 'Ingest', {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Test fixture: the real mail bucket (infra/stateful-stack.ts) logs its access.',
  });
  Validations.of(deadLetters).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'Test fixture: this is the dead-letter queue itself.',
  });
  const service = new Stack(app, 'Service', { env: ENV });
  const ingress = new SesIngress(service, 'SesIngress', {
    domains: ['acme.test', 'example.org'],
    bucket,
    queue,
    ...props,
  });
  return {
    app,
    data,
    service,
    ingress,
    bucket,
    queue,
    dataTemplate: Template.fromStack(data),
    serviceTemplate: Template.fromStack(service),
  };
}

describe('SesIngress', () => {
  it('makes one rule set with one rule for the domains: TLS required, scanning on, stored in the bucket under raw/ses/', () => {
    // WHEN
    const { serviceTemplate, data, bucket, ingress } = build();

    // THEN
    serviceTemplate.resourceCountIs('AWS::SES::ReceiptRuleSet', 1);
    serviceTemplate.hasResourceProperties('AWS::SES::ReceiptRuleSet', {
      RuleSetName: ingress.ruleSetName,
    });
    serviceTemplate.resourceCountIs('AWS::SES::ReceiptRule', 1);
    serviceTemplate.hasResourceProperties('AWS::SES::ReceiptRule', {
      RuleSetName: { Ref: Match.stringLikeRegexp('RuleSet') },
      Rule: {
        Name: RULE_NAME,
        Enabled: true,
        Recipients: ['acme.test', 'example.org'],
        ScanEnabled: true,
        TlsPolicy: 'Require',
        Actions: [
          {
            S3Action: {
              BucketName: {
                'Fn::ImportValue': Match.stringLikeRegexp(data.getLogicalId(bucketResource(bucket))),
              },
              ObjectKeyPrefix: SES_PREFIX,
            },
          },
        ],
      },
    });
    expect(SES_PREFIX).toBe('raw/ses/');
  });

  it('lets only this rule of this account put objects, and only under the prefix', () => {
    // WHEN
    const { dataTemplate, ingress } = build();

    // THEN
    dataTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'SesIngressPutObject',
            Effect: 'Allow',
            Principal: { Service: 'ses.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }, '/raw/ses/*']] },
            Condition: {
              StringEquals: { 'aws:SourceAccount': ENV.account },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      `:ses:${ENV.region}:${ENV.account}:receipt-rule-set/${ingress.ruleSetName}:receipt-rule/${RULE_NAME}`,
                    ],
                  ],
                },
              },
            },
          },
        ]),
      },
    });
  });

  it('announces each new object under the prefix on the ingest queue, which lets this bucket send', () => {
    // WHEN
    const { dataTemplate, data, queue, bucket } = build();

    // THEN
    dataTemplate.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: data.getLogicalId(bucketResource(bucket)) },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: SES_PREFIX }] } },
            QueueArn: { 'Fn::GetAtt': [data.getLogicalId(queue.node.defaultChild as sqs.CfnQueue), 'Arn'] },
          },
        ],
      },
    });
    dataTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: {
              ArnLike: {
                'aws:SourceArn': { 'Fn::GetAtt': [data.getLogicalId(bucketResource(bucket)), 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('adds nothing to the data stack that refers back to the service stack', () => {
    // WHEN
    const { dataTemplate, serviceTemplate, service, data } = build();

    // THEN: the data stack imports nothing; the service stack depends on it, not the reverse.
    expect(JSON.stringify(dataTemplate.toJSON())).not.toContain('Fn::ImportValue');
    expect(JSON.stringify(serviceTemplate.toJSON())).toContain('Fn::ImportValue');
    expect(service.dependencies).toContain(data);
    expect(data.dependencies).not.toContain(service);
  });

  it('activates the rule set at deploy, once the rule exists', () => {
    // WHEN
    const { serviceTemplate, service, ingress } = build();

    // THEN
    serviceTemplate.hasResource(ACTIVATION_RESOURCE_TYPE, {
      Properties: { RuleSetName: ingress.ruleSetName },
      DependsOn: Match.arrayWith([service.getLogicalId(ingress.rule.node.defaultChild as never)]),
    });
    serviceTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Code: { ZipFile: ACTIVATION_HANDLER_SOURCE },
    });
    // The handler may only switch the active rule set and ask which one is active.
    serviceTemplate.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['ses:SetActiveReceiptRuleSet', 'ses:DescribeActiveReceiptRuleSet'],
            Resource: '*',
          },
        ]),
      },
    });
  });

  it('names SES inbound endpoint of the region as what MX records point at', () => {
    expect(build().ingress.mxTarget).toBe('inbound-smtp.eu-west-1.amazonaws.com');
  });

  it('takes another prefix, and refuses an empty one', () => {
    expect(build({ prefix: 'mail/inbound' }).ingress.prefix).toBe('mail/inbound/');
    expect(() => build({ prefix: '' })).toThrow(/prefix/);
    expect(() => build({ domains: [] })).toThrow(/domain/);
  });

  it('passes the AWS Solutions checks, each acknowledgement with its reason', () => {
    // WHEN
    const { app, data, service } = build();

    // THEN
    expect([...nagViolations(data), ...nagViolations(service)]).toEqual([]);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the activation handler', () => {
  type Call = { command: string; input: Record<string, unknown> };

  /** Runs the inline source against a stand-in SES client; `active` is the rule set SES has active. */
  async function run(requestType: 'Create' | 'Update' | 'Delete', active: string | undefined) {
    const calls: Call[] = [];
    const record = (command: string, input: Record<string, unknown>) => void calls.push({ command, input });
    class DescribeActiveReceiptRuleSetCommand {
      constructor(input: Record<string, unknown>) {
        record('DescribeActiveReceiptRuleSet', input);
      }
    }
    class SetActiveReceiptRuleSetCommand {
      constructor(input: Record<string, unknown>) {
        record('SetActiveReceiptRuleSet', input);
      }
    }
    class SESClient {
      async send(command: object) {
        if (!(command instanceof DescribeActiveReceiptRuleSetCommand)) return {};
        return active === undefined ? {} : { Metadata: { Name: active } };
      }
    }
    const sdk = { SESClient, SetActiveReceiptRuleSetCommand, DescribeActiveReceiptRuleSetCommand };
    const module: { exports: { handler?: (event: unknown) => Promise<unknown> } } = { exports: {} };
    const require = (id: string) => {
      if (id !== '@aws-sdk/client-ses') throw new Error(`unexpected require ${id}`);
      return sdk;
    };
    new Function('exports', 'require', 'console', ACTIVATION_HANDLER_SOURCE)(module.exports, require, {
      log: () => undefined,
    });
    const result = await module.exports.handler!({
      RequestType: requestType,
      PhysicalResourceId: 'mailroom-rules',
      ResourceProperties: { RuleSetName: 'mailroom-rules' },
    });
    return { calls, result };
  }

  it('makes the rule set the active one on create and on update', async () => {
    for (const type of ['Create', 'Update'] as const) {
      const { calls, result } = await run(type, 'someone-elses');
      expect(calls).toEqual([
        { command: 'SetActiveReceiptRuleSet', input: { RuleSetName: 'mailroom-rules' } },
      ]);
      expect(result).toEqual({ PhysicalResourceId: 'mailroom-rules' });
    }
  });

  it('deactivates on delete only while the rule set is still the active one', async () => {
    expect((await run('Delete', 'mailroom-rules')).calls).toEqual([
      { command: 'DescribeActiveReceiptRuleSet', input: {} },
      { command: 'SetActiveReceiptRuleSet', input: {} },
    ]);
    expect((await run('Delete', 'someone-elses')).calls).toEqual([
      { command: 'DescribeActiveReceiptRuleSet', input: {} },
    ]);
    expect((await run('Delete', undefined)).calls).toEqual([
      { command: 'DescribeActiveReceiptRuleSet', input: {} },
    ]);
  });
});

function bucketResource(bucket: s3.IBucket): s3.CfnBucket {
  return bucket.node.defaultChild as s3.CfnBucket;
}
