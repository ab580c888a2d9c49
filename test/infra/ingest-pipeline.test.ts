import { Match, Template } from 'aws-cdk-lib/assertions';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_OPTIONS } from '../../functions/bundle.js';
import { ENV_NAMES } from '../../lib/config.js';
import { getAtt, onlyResource, synthMailroom, type SynthesizedMailroom } from './app-fixture.js';

/*
 * The ingest Lambda on the queue (Mailroom stack): one property that matters per test, on
 * the app as `cdk synth` builds it. Its role is checked statement by statement: each must
 * name one of its own resources, never `*`.
 */

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown };

let app: SynthesizedMailroom;
let service: Template;
let data: Template;
let fnId: string;
let roleId: string;
let fn: { Properties: Record<string, unknown> };

beforeAll(() => {
  app = synthMailroom({ domains: 'example.test,other.test' });
  service = app.serviceTemplate;
  data = app.statefulTemplate;
  fnId = onlyResource(service, 'AWS::Lambda::Function');
  fn = service.toJSON().Resources[fnId];
  roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
});

/** Every statement of the inline policies on the function's role. */
function roleStatements(): Statement[] {
  const policies = service.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (s: Statement) => [s.Action].flat();
const dataId = (type: string, props = {}) => onlyResource(data, type, props);

describe('the function', () => {
  it('runs on Node.js 22 on arm64', () => {
    // THEN
    service.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
  });

  it('has 512 MB and a 60 second timeout', () => {
    // THEN
    service.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512, Timeout: 60 });
  });

  it('runs the handler export of the ESM bundle', () => {
    // THEN
    service.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler' });
  });

  it('is told the aws backend and where each stateful resource is, by the names lib/config.ts reads', () => {
    // THEN
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const known = new Set(Object.values(ENV_NAMES));
    for (const name of Object.keys(variables))
      expect(known, `${name} is not read by lib/config.ts`).toContain(name);
    expect(variables[ENV_NAMES.backend]).toBe('aws');
    expect(app.imported(variables[ENV_NAMES.table])).toEqual({ Ref: dataId('AWS::DynamoDB::GlobalTable') });
    expect(app.imported(variables[ENV_NAMES.bucket])).toEqual({
      Ref: dataId('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue() } }),
    });
    expect(app.imported(variables[ENV_NAMES.queueUrl])).toEqual({
      Ref: dataId('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } }),
    });
    expect(app.imported(variables[ENV_NAMES.deadLetterQueueUrl])).toEqual({
      Ref: dataId('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.absent() } }),
    });
    expect(app.imported(variables[ENV_NAMES.eventBus])).toEqual({ Ref: dataId('AWS::Events::EventBus') });
    expect(variables[ENV_NAMES.maxReceiveCount]).toBe('5');
    // Forwards of bounces go out from an address of the first domain, an SES identity.
    expect(variables[ENV_NAMES.bounceAddress]).toBe('mailer-daemon@example.test');
    // Blob keys carry raw/ themselves (lib/smtp/ids.ts): a bucket prefix would double it.
    expect(variables[ENV_NAMES.bucketPrefix]).toBeUndefined();
  });

  it('logs to a log group of its own with a retention', () => {
    // THEN
    const logGroup = onlyResource(service, 'AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 } });
    expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logGroup } });
  });

  it('is the bundle functions/bundle.ts makes: ESM, the require() shim first, the AWS SDK inside', async () => {
    // GIVEN
    const asset = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const dir = join(app.assembly.directory, `asset.${asset}`);
    // WHEN
    const files = await readdir(dir);
    const code = await readFile(join(dir, 'index.mjs'), 'utf8');
    // THEN
    expect(files).toEqual(['index.mjs']);
    expect(code.startsWith(BUNDLE_OPTIONS.banner!.js!)).toBe(true);
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    // The protocols' target prefixes of DynamoDB and EventBridge: their clients are in the file.
    expect(code).toContain('DynamoDB_20120810');
    expect(code).toContain('AWSEvents');
  });
});

describe('the queue as its event source', () => {
  it('reports batch item failures, so only failed records come back', () => {
    // THEN
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('is the ingest queue, not its dead-letter queue', () => {
    // THEN
    const mapping = Object.values(service.findResources('AWS::Lambda::EventSourceMapping'))[0]!;
    const queue = dataId('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } });
    expect(app.imported(mapping.Properties.EventSourceArn)).toEqual(getAtt(queue));
  });

  it('hands over batches of 10 after at most 2 seconds', () => {
    // THEN
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 2,
    });
  });

  it('drives at most 10 invocations at once', () => {
    // THEN
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});

describe('the role', () => {
  it('is assumed by Lambda only, and carries no AWS managed policy', () => {
    // THEN
    const role = service.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    const managed = role.Properties.ManagedPolicyArns as unknown[];
    expect(managed.map((arn) => app.imported(arn))).toEqual([
      {
        Ref: dataId('AWS::IAM::ManagedPolicy', {
          Properties: { Description: Match.stringLikeRegexp('^Read raw') },
        }),
      },
    ]);
  });

  it('names a resource of its own in every statement: no `*` resource, no wildcard action', () => {
    // THEN
    const statements = roleStatements();
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      expect(JSON.stringify(statement.Resource), JSON.stringify(statement)).not.toContain('*');
      for (const action of actionsOf(statement)) expect(action).not.toContain('*');
    }
  });

  it('reads raw messages only: s3:GetObject under raw/ of the mail bucket', () => {
    // THEN
    const bucket = dataId('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue() } });
    data.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('^Read raw'),
      PolicyDocument: {
        Statement: [
          {
            Sid: 'ReadRawMessages',
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: { 'Fn::Join': ['', [getAtt(bucket), '/raw/*']] },
          },
        ],
      },
    });
    expect(roleStatements().filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')))).toEqual([]);
  });

  it('uses the table with the store’s data calls, on the table only', () => {
    // THEN
    const [statement, ...more] = roleStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith('dynamodb:')),
    );
    expect(more).toEqual([]);
    expect(app.imported(statement!.Resource)).toEqual(getAtt(dataId('AWS::DynamoDB::GlobalTable')));
    expect(actionsOf(statement!).sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ].sort(),
    );
  });

  it('consumes the ingest queue and nothing else of SQS: not the dead-letter queue', () => {
    // THEN
    const [statement, ...more] = roleStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith('sqs:')),
    );
    expect(more).toEqual([]);
    const queue = dataId('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } });
    expect(app.imported(statement!.Resource)).toEqual(getAtt(queue));
    expect(actionsOf(statement!).sort()).toEqual(
      [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ].sort(),
    );
  });

  it('publishes to the mailroom bus only', () => {
    // THEN
    const [statement, ...more] = roleStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith('events:')),
    );
    expect(more).toEqual([]);
    expect(actionsOf(statement!)).toEqual(['events:PutEvents']);
    expect(app.imported(statement!.Resource)).toEqual(getAtt(dataId('AWS::Events::EventBus')));
  });

  it('sends through SES from the SES identities of its domains only', () => {
    // THEN
    const [statement, ...more] = roleStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith('ses:')),
    );
    expect(more).toEqual([]);
    expect(actionsOf(statement!).sort()).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    const identity = (domain: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ses:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:identity/${domain}`,
        ],
      ],
    });
    expect(statement!.Resource).toEqual([identity('example.test'), identity('other.test')]);
  });

  it('writes its own log group only', () => {
    // THEN
    const [statement, ...more] = roleStatements().filter((s) =>
      actionsOf(s).some((a) => a.startsWith('logs:')),
    );
    expect(more).toEqual([]);
    expect(actionsOf(statement!).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(statement!.Resource).toEqual(
      getAtt(onlyResource(service, 'AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 } })),
    );
  });

  it('has no statement beyond those: logs, table, queue, bus, SES', () => {
    // THEN
    const services = roleStatements().map((s) => actionsOf(s)[0]!.split(':')[0]);
    expect(services.sort()).toEqual(['dynamodb', 'events', 'logs', 'ses', 'sqs']);
  });
});
