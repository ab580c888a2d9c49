import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Observability } from '../../infra/constructs/observability.js';
import { onlyResource, synthMailroom, type SynthesizedMailroom } from './app-fixture.js';

/*
 * Alarms, their topic and the dashboard: on the app as `cdk synth` builds it, and on a small
 * stack of their own for what the app does not have yet (a load balancer's target group,
 * an alarm email).
 */

let app: SynthesizedMailroom;
let service: Template;
let topic: string;
let queue: string;
let deadLetterQueue: string;
let fn: string;

beforeAll(() => {
  app = synthMailroom();
  service = app.serviceTemplate;
  topic = onlyResource(service, 'AWS::SNS::Topic');
  fn = onlyResource(service, 'AWS::Lambda::Function');
  queue = onlyResource(app.statefulTemplate, 'AWS::SQS::Queue', {
    Properties: { RedrivePolicy: Match.anyValue() },
  });
  deadLetterQueue = onlyResource(app.statefulTemplate, 'AWS::SQS::Queue', {
    Properties: { RedrivePolicy: Match.absent() },
  });
});

/** The one alarm on a metric, with its dimension's value resolved across the stacks. */
function alarmOn(metricName: string): Record<string, unknown> {
  const alarms = Object.values(
    service.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }),
  );
  expect(alarms, metricName).toHaveLength(1);
  const properties = alarms[0]!.Properties as Record<string, unknown> & {
    Dimensions: { Name: string; Value: unknown }[];
  };
  return {
    ...properties,
    Dimensions: properties.Dimensions.map((d) => ({ Name: d.Name, Value: app.imported(d.Value) })),
  };
}

const queueName = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'QueueName'] });

describe('the alarms', () => {
  it('go off when one job is in the dead-letter queue', () => {
    // THEN
    expect(alarmOn('ApproximateNumberOfMessagesVisible')).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: queueName(deadLetterQueue) }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
    });
  });

  it('go off when the oldest ingest job has waited more than 15 minutes', () => {
    // THEN
    expect(alarmOn('ApproximateAgeOfOldestMessage')).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: queueName(queue) }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 900,
    });
  });

  it('go off when an ingest invocation fails', () => {
    // THEN
    expect(alarmOn('Errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('go off when ingest is throttled', () => {
    // THEN
    expect(alarmOn('Throttles')).toMatchObject({
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('notify the alarm topic when they go off and when they recover', () => {
    // THEN
    const alarms = Object.values(service.findResources('AWS::CloudWatch::Alarm'));
    // The pipeline's four, and two for each of the seven mail target groups.
    expect(alarms).toHaveLength(4 + 2 * 7);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
      });
    }
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a rotating key that CloudWatch may use', () => {
    // THEN
    const key = onlyResource(service, 'AWS::KMS::Key');
    service.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    service.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('refuses publishing that is not over TLS', () => {
    // THEN
    service.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets the alarms of this account publish (its own policy replaces SNS’s default one)', () => {
    // THEN
    service.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topic },
            Condition: {
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('has no subscription unless alarmEmail is given', () => {
    // THEN
    service.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('the dashboard', () => {
  it('shows the queue, the dead letters, the function and the table', () => {
    // THEN
    service.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(
      Object.values(service.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody,
    );
    for (const metric of [
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateAgeOfOldestMessage',
      'Invocations',
      'Errors',
      'Throttles',
      'Duration',
      'ConcurrentExecutions',
      'ConsumedReadCapacityUnits',
      'ConsumedWriteCapacityUnits',
      'ReadThrottleEvents',
      'WriteThrottleEvents',
    ]) {
      expect(body, metric).toContain(`\\"${metric}\\"`);
    }
  });
});

describe('a stack of its own', () => {
  let template: Template;
  let alarms: ReturnType<Observability['addUnhealthyTargetAlarm']>;

  beforeAll(() => {
    // GIVEN
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Watched');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const observability = new Observability(stack, 'Observability', {
      queue: new sqs.Queue(stack, 'Queue'),
      deadLetterQueue: new sqs.Queue(stack, 'Dead'),
      table: new dynamodb.TableV2(stack, 'Table', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      }),
      ingestFunction: new lambda.Function(stack, 'Fn', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
      }),
      alarmEmail: 'ops@example.test',
    });
    const nlb = new elbv2.NetworkLoadBalancer(stack, 'Nlb', { vpc });
    const targetGroup = new elbv2.NetworkTargetGroup(stack, 'Smtp', {
      vpc,
      port: 25,
      protocol: elbv2.Protocol.TCP,
      targetType: elbv2.TargetType.IP,
    });
    nlb.addListener('Smtp', { port: 25, defaultTargetGroups: [targetGroup] });
    // WHEN
    alarms = observability.addUnhealthyTargetAlarm(targetGroup, 'smtp-25');
    template = Template.fromStack(stack);
  });

  it('subscribes alarmEmail to the topic', () => {
    // THEN
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.test',
    });
  });

  it('alarms when a target of a target group is unhealthy for 3 minutes', () => {
    // THEN
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Watched-UnhealthyTargets-smtp-25',
      Namespace: 'AWS/NetworkELB',
      MetricName: 'UnHealthyHostCount',
      Dimensions: [Match.objectLike({ Name: 'LoadBalancer' }), Match.objectLike({ Name: 'TargetGroup' })],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarms') }],
    });
    expect(alarms.unhealthy).toBeDefined();
  });

  it('alarms when a target group has no healthy target, or says nothing, for 2 minutes', () => {
    // THEN
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Watched-NoHealthyTargets-smtp-25',
      Namespace: 'AWS/NetworkELB',
      MetricName: 'HealthyHostCount',
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 2,
      TreatMissingData: 'breaching',
    });
    expect(alarms.noHealthy).toBeDefined();
  });

  it('adds the target group to the dashboard', () => {
    // THEN
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody,
    );
    expect(body).toContain('smtp-25 targets');
    expect(body).toContain('\\"UnHealthyHostCount\\"');
  });

  it('refuses an alarm name that would not make a clean id', () => {
    // GIVEN
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Other');
    const observability = new Observability(stack, 'Observability', {
      queue: new sqs.Queue(stack, 'Queue'),
      deadLetterQueue: new sqs.Queue(stack, 'Dead'),
      table: new dynamodb.TableV2(stack, 'Table', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      }),
      ingestFunction: new lambda.Function(stack, 'Fn', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
      }),
    });
    // THEN
    expect(() =>
      observability.addUnhealthyTargetAlarm({} as elbv2.NetworkTargetGroup, 'smtp targets'),
    ).toThrow(/letters, digits and hyphens/);
  });
});
