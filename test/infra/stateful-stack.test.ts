import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readOperationsContext } from '../../infra/app.js';
import { ingestQueueVisibilityTimeout } from '../../infra/constructs/ingest-pipeline.js';
import { StatefulStack } from '../../infra/stateful-stack.js';
import { DEFAULTS } from '../../lib/config.js';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../../lib/store/dynamodb/schema.js';
import { getAtt, onlyResource, synthMailroom, type SynthesizedMailroom } from './app-fixture.js';

/*
 * The data stack (MailroomData): one property that matters per test, on the app as
 * `cdk synth` builds it. GIVEN is that app unless a test builds its own.
 */

let app: SynthesizedMailroom;
let template: Template;
let mailBucket: string;
let logBucket: string;
let queue: string;
let deadLetterQueue: string;

beforeAll(() => {
  app = synthMailroom();
  template = app.statefulTemplate;
  mailBucket = onlyResource(template, 'AWS::S3::Bucket', {
    Properties: { LoggingConfiguration: Match.anyValue() },
  });
  logBucket = onlyResource(template, 'AWS::S3::Bucket', {
    Properties: { LoggingConfiguration: Match.absent() },
  });
  queue = onlyResource(template, 'AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } });
  deadLetterQueue = onlyResource(template, 'AWS::SQS::Queue', {
    Properties: { RedrivePolicy: Match.absent() },
  });
});

/** A data stack of its own, for settings the default app does not show. */
function statefulStack(props: { rawRetentionDays?: number; versioned?: boolean } = {}): Template {
  const stack = new StatefulStack(new App({ builtinCloudFormationValidation: false }), 'Data', {
    ingestVisibilityTimeout: ingestQueueVisibilityTimeout(),
    ...props,
  });
  return Template.fromStack(stack);
}

describe('the stack', () => {
  it('has termination protection on', () => {
    // THEN
    expect(app.stateful.terminationProtection).toBe(true);
  });

  it('retains the buckets, the table and the queues when they leave the template', () => {
    // THEN
    for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::GlobalTable', 'AWS::SQS::Queue']) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length, type).toBeGreaterThan(0);
      for (const resource of resources)
        expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('outputs each name the mailroom CLI needs on the aws backend', () => {
    // THEN
    for (const name of [
      'MAILROOM_BUCKET',
      'MAILROOM_TABLE',
      'MAILROOM_QUEUE_URL',
      'MAILROOM_DLQ_URL',
      'MAILROOM_EVENT_BUS',
    ]) {
      expect(
        Object.keys(template.findOutputs('*', { Description: Match.stringLikeRegexp(`^${name} `) })),
        name,
      ).toHaveLength(1);
    }
  });
});

describe('the mail bucket', () => {
  it('blocks all public access', () => {
    // THEN
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        LoggingConfiguration: Match.anyValue(),
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    });
  });

  it('refuses every request that is not over TLS', () => {
    // THEN
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: mailBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [getAtt(mailBucket), { 'Fn::Join': ['', [getAtt(mailBucket), '/*']] }],
          },
        ]),
      },
    });
  });

  it('is encrypted with S3-managed keys, as lib/blob/s3 asks for on every put', () => {
    // THEN
    expect(template.toJSON().Resources[mailBucket].Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  it('logs its access to the log bucket', () => {
    // THEN
    expect(template.toJSON().Resources[mailBucket].Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logBucket },
      LogFilePrefix: 'mail-bucket/',
    });
  });

  it('aborts incomplete multipart uploads after one day', () => {
    // THEN
    expect(template.toJSON().Resources[mailBucket].Properties.LifecycleConfiguration.Rules).toContainEqual({
      Id: 'abort-incomplete-uploads',
      Status: 'Enabled',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  it('keeps raw messages by default: they are the bodies of stored mail', () => {
    // THEN
    const rules = template.toJSON().Resources[mailBucket].Properties.LifecycleConfiguration.Rules as object[];
    expect(rules.filter((rule) => 'ExpirationInDays' in rule)).toEqual([]);
  });

  it('expires raw/ after rawRetentionDays when given', () => {
    // GIVEN
    const stack = statefulStack({ rawRetentionDays: 30 });
    // THEN
    stack.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          { Id: 'raw-retention', Status: 'Enabled', Prefix: 'raw/', ExpirationInDays: 30 },
        ]),
      },
    });
  });

  it('is versioned, and old versions of raw messages go after 30 days', () => {
    // THEN
    const properties = template.toJSON().Resources[mailBucket].Properties;
    expect(properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(properties.LifecycleConfiguration.Rules).toContainEqual({
      Id: 'raw-old-versions',
      Status: 'Enabled',
      Prefix: 'raw/',
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
      ExpiredObjectDeleteMarker: true,
    });
  });
});

describe('the log bucket', () => {
  it('is private and TLS-only too, and lets only S3 logging of the mail bucket write', () => {
    // THEN
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        LoggingConfiguration: Match.absent(),
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': getAtt(mailBucket) } }),
          }),
        ]),
      },
    });
  });
});

describe('the table', () => {
  it('has the keys of docs/dynamodb.md, bills on demand, and has no index and no stream', () => {
    // THEN
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
        { AttributeName: SORT_KEY, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: PARTITION_KEY, AttributeType: 'S' },
        { AttributeName: SORT_KEY, AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: Match.absent(),
      LocalSecondaryIndexes: Match.absent(),
      StreamSpecification: Match.absent(),
    });
  });

  it('has point-in-time recovery on', () => {
    // THEN
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('has deletion protection on', () => {
    // THEN
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
    });
  });

  it(`expires items by TTL on ${TTL_ATTRIBUTE}`, () => {
    // THEN
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
  });
});

describe('the ingest queues', () => {
  it('send a job to the dead-letter queue after the runtime’s maxReceiveCount receives', () => {
    // THEN
    expect(DEFAULTS.maxReceiveCount).toBe(5);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: getAtt(deadLetterQueue), maxReceiveCount: 5 },
    });
  });

  it('hide a received job for at least six times the ingest timeout plus the batching window', () => {
    // GIVEN the consumer, as the service stack defines it
    const fn = Object.values(app.serviceTemplate.findResources('AWS::Lambda::Function'))[0]!;
    const mapping = Object.values(app.serviceTemplate.findResources('AWS::Lambda::EventSourceMapping'))[0]!;
    const timeout = fn.Properties.Timeout as number;
    const window = mapping.Properties.MaximumBatchingWindowInSeconds as number;
    // THEN
    const visibility = template.toJSON().Resources[queue].Properties.VisibilityTimeout as number;
    expect(timeout).toBe(60);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout + window);
  });

  it('keep messages 14 days, SQS’s longest, both of them', () => {
    // THEN
    for (const id of [queue, deadLetterQueue]) {
      expect(template.toJSON().Resources[id].Properties.MessageRetentionPeriod, id).toBe(14 * 24 * 3600);
    }
  });

  it('are encrypted and refuse requests that are not over TLS', () => {
    // THEN
    for (const id of [queue, deadLetterQueue]) {
      expect(template.toJSON().Resources[id].Properties.SqsManagedSseEnabled, id).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('the event bus', () => {
  it('is named mailroom', () => {
    // THEN
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'mailroom' });
  });
});

describe('the operations context', () => {
  it('reads rawRetentionDays and alarmEmail, as -c gives them (strings) or as JSON', () => {
    // GIVEN
    const context: Record<string, unknown> = { rawRetentionDays: '400', alarmEmail: 'ops@example.test' };
    // WHEN
    const read = readOperationsContext((key) => context[key]);
    // THEN
    expect(read).toEqual({ rawRetentionDays: 400, alarmEmail: 'ops@example.test' });
    expect(readOperationsContext(() => undefined)).toEqual({});
  });

  it('refuses a retention that is not a whole number of days, and an address that is not one', () => {
    // THEN
    expect(() => readOperationsContext((key) => (key === 'rawRetentionDays' ? '1.5' : undefined))).toThrow(
      /rawRetentionDays/,
    );
    expect(() => readOperationsContext((key) => (key === 'rawRetentionDays' ? 0 : undefined))).toThrow(
      /rawRetentionDays/,
    );
    expect(() => readOperationsContext((key) => (key === 'alarmEmail' ? 'ops' : undefined))).toThrow(
      /alarmEmail/,
    );
  });
});
