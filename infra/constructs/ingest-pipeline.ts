import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { BUNDLE_OPTIONS } from '../../functions/bundle.js';
import { ENV_NAMES } from '../../lib/config.js';
import { acknowledge } from '../nag.js';
import { grantStoreReadWrite, runtimeEnvironment, type MailroomData } from '../stateful-stack.js';

/** The ingest function's timeout: one batch of 10 jobs, each a parse and a few store writes. */
export const INGEST_TIMEOUT = Duration.seconds(60);
/** How long Lambda waits to fill a batch: short, mail should reach IMAP IDLE within seconds. */
export const INGEST_BATCHING_WINDOW = Duration.seconds(2);
export const INGEST_BATCH_SIZE = 10;

/**
 * The ingest queue's visibility timeout: six times the function timeout plus the batching
 * window, as AWS recommends for an SQS event source: Lambda may retry a throttled batch
 * within that time, and the batch must not become visible to another poller meanwhile.
 */
export function ingestQueueVisibilityTimeout(): Duration {
  return Duration.seconds(6 * INGEST_TIMEOUT.toSeconds() + INGEST_BATCHING_WINDOW.toSeconds());
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface IngestPipelineProps {
  readonly data: MailroomData;
  /**
   * The domains whose SES identities the function sends forwards from. The first one is
   * also the bounce address's domain (`mailer-daemon@<first>`), the sender SES uses for a
   * forward of a message with the null reverse path.
   */
  readonly sendingDomains: readonly string[];
  /** Default 512. */
  readonly memorySize?: number;
  /** Most concurrent invocations the queue drives (SQS event source maximum concurrency, 2..1000). Default 10. */
  readonly maxConcurrency?: number;
  /** Default three months. */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The ingest half of the pipeline: functions/ingest.ts as a Lambda on the ingest queue.
 * SQS hands it batches of 10; it reports the records that failed
 * (ReportBatchItemFailures), so only those come back, and after MAX_RECEIVE_COUNT
 * receives SQS moves one to the dead-letter queue. Its role can do only what ingest
 * does: read raw messages, use the table, consume the queue, publish to the bus, send
 * forwards through SES.
 */
export class IngestPipeline extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    const { data, sendingDomains, memorySize = 512, maxConcurrency = 10 } = props;
    const bounceDomain = sendingDomains[0];
    if (bounceDomain === undefined) throw new Error('IngestPipeline needs at least one sending domain');
    const stack = Stack.of(this);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });

    // A role of our own rather than the default one, whose AWS managed policy
    // (AWSLambdaBasicExecutionRole) may write to every log group of the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The ingest Lambda: reads raw mail, writes the store, publishes events, sends forwards',
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Mailroom ingest: files each queued message into its mailboxes (functions/ingest.ts)',
      entry: `${REPO_ROOT}functions/ingest.ts`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: INGEST_TIMEOUT,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...runtimeEnvironment(data),
        [ENV_NAMES.bounceAddress]: `mailer-daemon@${bounceDomain}`,
      },
      bundling: lambdaBundling(),
    });
    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Node.js 22 on purpose: functions/bundle.ts targets node22 and the bundle is tested on it; move runtime and target together.',
    );

    // Only what the ingest code calls, each on its own resource.
    this.role.addManagedPolicy(data.rawReadPolicy);
    grantStoreReadWrite(this.role, data);
    data.eventBus.grantPutEventsTo(this.role);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SendForwards',
        // lib/outbound/ses-outbound.ts: SES v2 SendEmail with raw content. IAM checks it on
        // the identity of the sender, so each verified domain identity is named.
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: sendingDomains.map((domain) =>
          stack.formatArn({ service: 'ses', resource: 'identity', resourceName: domain }),
        ),
      }),
    );
    this.eventSource = new SqsEventSource(data.queue, {
      batchSize: INGEST_BATCH_SIZE,
      maxBatchingWindow: INGEST_BATCHING_WINDOW,
      reportBatchItemFailures: true,
      maxConcurrency,
    });
    this.function.addEventSource(this.eventSource);
  }
}

/**
 * NodejsFunction's esbuild settings from the ones functions/bundle.ts uses for
 * `npm run build:lambda` and its tests (BUNDLE_OPTIONS), so the deployed bundle is the
 * tested one: ESM for node22, minified, the require() shim banner, only pino-pretty left
 * out (the AWS SDK is bundled, not taken from the runtime). Local esbuild, never Docker.
 */
export function lambdaBundling(): nodejs.BundlingOptions {
  const { target, banner, external, format, minify, sourcemap, legalComments } = BUNDLE_OPTIONS;
  if (typeof target !== 'string' || format !== 'esm' || typeof banner?.js !== 'string' || !external) {
    throw new Error('functions/bundle.ts BUNDLE_OPTIONS changed shape: update lambdaBundling()');
  }
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    target,
    minify: minify === true,
    sourceMap: sourcemap === true,
    banner: banner.js,
    externalModules: [...external],
    bundleAwsSDK: true,
    logLevel: nodejs.LogLevel.ERROR,
    ...(legalComments ? { esbuildArgs: { '--legal-comments': legalComments } } : {}),
  };
}
