import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** A job older than this in the ingest queue means ingest is stuck or far behind. */
export const OLDEST_MESSAGE_THRESHOLD = Duration.minutes(15);

export interface ObservabilityProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly ingestFunction: lambda.IFunction;
  readonly table: dynamodb.ITableV2;
  /** Subscribed to the alarm topic by email (the address confirms it once). Default: no subscription. */
  readonly alarmEmail?: string;
}

/** The two alarms addUnhealthyTargetAlarm makes for one target group. */
export interface TargetGroupAlarms {
  /** UnHealthyHostCount ≥ 1 for 3 minutes: a task fails its health checks. */
  readonly unhealthy: cloudwatch.Alarm;
  /** HealthyHostCount < 1 for 2 minutes (or no data): the listener has nowhere to send connections. */
  readonly noHealthy: cloudwatch.Alarm;
}

/**
 * Alarms and a dashboard for the mail pipeline. Every alarm notifies one SNS topic
 * (KMS-encrypted, TLS-only publishing) when it goes into ALARM and when it recovers:
 *
 * - dead letters: a job gave up after its receives (`mailroom queue status` shows why,
 *   `mailroom queue redrive` retries);
 * - the oldest ingest job waits more than 15 minutes: ingest is stuck or far behind;
 * - the ingest function fails whole invocations (record failures are reported per record
 *   and do not count) or is throttled;
 * - per target group of the services' load balancers, addUnhealthyTargetAlarm.
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly dashboard: cloudwatch.Dashboard;
  readonly deadLettersAlarm: cloudwatch.Alarm;
  readonly oldestMessageAlarm: cloudwatch.Alarm;
  readonly ingestErrorsAlarm: cloudwatch.Alarm;
  readonly ingestThrottlesAlarm: cloudwatch.Alarm;
  readonly #prefix: string;
  readonly #action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { queue, deadLetterQueue, ingestFunction: fn, table } = props;
    this.#prefix = Stack.of(this).stackName;

    // CloudWatch can publish to an encrypted topic only with a customer managed key whose
    // policy lets cloudwatch.amazonaws.com use it (the aws/sns key cannot be granted to it).
    const stack = Stack.of(this);
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the Mailroom alarm topic',
      enableKeyRotation: true,
      // It protects notifications in flight, nothing kept: it goes with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsUseKey',
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: 'Mailroom alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // The topic has a policy of its own (the TLS-only deny), which replaces SNS's default
    // one: the alarms of this account are allowed to publish by name.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.#action = new actions.SnsAction(this.topic);

    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const deadLetters = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: minute,
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    const oldest = queue.metricApproximateAgeOfOldestMessage({
      period: minute,
      statistic: cloudwatch.Stats.MAXIMUM,
    });

    this.deadLettersAlarm = this.#alarm('DeadLetters', {
      metric: deadLetters,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      description:
        'An ingest job is in the dead-letter queue: `mailroom queue status` lists it with its reason, `mailroom queue redrive` tries again.',
    });
    this.oldestMessageAlarm = this.#alarm('OldestIngestJob', {
      metric: oldest,
      threshold: OLDEST_MESSAGE_THRESHOLD.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      description: `The oldest ingest job has waited more than ${OLDEST_MESSAGE_THRESHOLD.toMinutes()} minutes: ingest is stuck or far behind.`,
    });
    this.ingestErrorsAlarm = this.#alarm('IngestErrors', {
      metric: fn.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      description:
        'Ingest invocations failed as a whole (wiring, timeout, crash); failed records alone do not count. See the function log.',
    });
    this.ingestThrottlesAlarm = this.#alarm('IngestThrottles', {
      metric: fn.metricThrottles({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      description:
        'Ingest invocations were throttled: the account or region concurrency is exhausted (the event source caps its own).',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${this.#prefix}-pipeline`,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    this.dashboard.addWidgets(
      graph('Ingest queue: jobs', [
        queue.metricApproximateNumberOfMessagesVisible({ label: 'waiting', period: minute }),
        queue.metricApproximateNumberOfMessagesNotVisible({ label: 'in flight', period: minute }),
      ]),
      graph('Ingest queue: oldest job (s)', [oldest.with({ label: 'oldest' })]),
      graph('Dead letters', [deadLetters.with({ label: 'dead letters' })]),
    );
    this.dashboard.addWidgets(
      graph(
        'Ingest: invocations',
        [
          fn.metricInvocations({ label: 'invocations', period: minute }),
          fn.metricErrors({ label: 'errors', period: minute }),
          fn.metricThrottles({ label: 'throttles', period: minute }),
        ],
        [
          fn.metric('ConcurrentExecutions', {
            label: 'concurrency',
            statistic: cloudwatch.Stats.MAXIMUM,
            period: minute,
          }),
        ],
      ),
      graph('Ingest: duration (ms)', [
        fn.metricDuration({ label: 'p50', statistic: cloudwatch.Stats.p(50), period: minute }),
        fn.metricDuration({ label: 'p99', statistic: cloudwatch.Stats.p(99), period: minute }),
        fn.metricDuration({ label: 'max', statistic: cloudwatch.Stats.MAXIMUM, period: minute }),
      ]),
      graph(
        'DynamoDB: consumed capacity and throttles',
        [
          table.metricConsumedReadCapacityUnits({
            label: 'read units',
            statistic: cloudwatch.Stats.SUM,
            period: minute,
          }),
          table.metricConsumedWriteCapacityUnits({
            label: 'write units',
            statistic: cloudwatch.Stats.SUM,
            period: minute,
          }),
        ],
        [
          table.metric('ReadThrottleEvents', {
            label: 'read throttles',
            statistic: cloudwatch.Stats.SUM,
            period: minute,
          }),
          table.metric('WriteThrottleEvents', {
            label: 'write throttles',
            statistic: cloudwatch.Stats.SUM,
            period: minute,
          }),
        ],
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Pipeline alarms',
        alarms: [
          this.deadLettersAlarm,
          this.oldestMessageAlarm,
          this.ingestErrorsAlarm,
          this.ingestThrottlesAlarm,
        ],
        width: 24,
        height: 3,
      }),
    );
  }

  /**
   * Alarms on one target group of a services' Network Load Balancer, and a row of the
   * dashboard for it. Call after the target group is attached to a listener (its metrics
   * need the balancer). `name` is short and unique per target group (letters, digits,
   * hyphens), e.g. `smtp-25`, `imap-993`: the alarms are `<stack>-UnhealthyTargets-<name>`
   * and `<stack>-NoHealthyTargets-<name>`.
   */
  addUnhealthyTargetAlarm(targetGroup: elbv2.NetworkTargetGroup, name: string): TargetGroupAlarms {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(name)) {
      throw new Error(`target group alarm name: letters, digits and hyphens, got ${JSON.stringify(name)}`);
    }
    const minute = Duration.minutes(1);
    const unhealthyHosts = targetGroup.metrics.unHealthyHostCount({
      period: minute,
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    const healthyHosts = targetGroup.metrics.healthyHostCount({
      period: minute,
      statistic: cloudwatch.Stats.MINIMUM,
    });
    const unhealthy = this.#alarm(`UnhealthyTargets-${name}`, {
      metric: unhealthyHosts,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      description: `A ${name} target has failed its load balancer health checks for 3 minutes.`,
    });
    const noHealthy = this.#alarm(`NoHealthyTargets-${name}`, {
      metric: healthyHosts,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      // No data from a target group means nothing reports healthy either.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: `No healthy ${name} target for 2 minutes: that listener refuses every connection.`,
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${name} targets`,
        left: [healthyHosts.with({ label: 'healthy' }), unhealthyHosts.with({ label: 'unhealthy' })],
        width: 16,
        height: 6,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: `${name} alarms`,
        alarms: [unhealthy, noHealthy],
        width: 8,
        height: 6,
      }),
    );
    return { unhealthy, noHealthy };
  }

  #alarm(
    id: string,
    options: {
      metric: cloudwatch.IMetric;
      threshold: number;
      comparisonOperator: cloudwatch.ComparisonOperator;
      evaluationPeriods: number;
      description: string;
      treatMissingData?: cloudwatch.TreatMissingData;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${this.#prefix}-${id}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator,
      evaluationPeriods: options.evaluationPeriods,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
    return alarm;
  }
}
