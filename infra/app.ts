import { App, type AppProps } from 'aws-cdk-lib';
import { fileURLToPath } from 'node:url';
import { ContextError, readContext } from './context.js';
import { ingestQueueVisibilityTimeout } from './constructs/ingest-pipeline.js';
import { applyNagChecks } from './nag.js';
import { ServiceStack } from './service-stack.js';
import { StatefulStack } from './stateful-stack.js';

/*
 * The CDK app that cdk.json runs: two stacks, so that the data outlives any compute change.
 *
 *   MailroomData  bucket, table, queues, event bus   (termination protection, RETAIN)
 *   Mailroom      ingest Lambda, alarms, dashboard   (and the services and SES receiving)
 *
 * cdk-nag's AWS Solutions pack runs on both; an unacknowledged finding fails synth.
 */

export const STATEFUL_STACK = 'MailroomData';
export const SERVICE_STACK = 'Mailroom';

/**
 * App-wide feature flags, here rather than in cdk.json so that the tests (which build the
 * app in process, without cdk.json) get the same ones as `cdk synth`. A flag one construct
 * depends on is set on that construct's own scope instead (see StatefulStack).
 */
export const FEATURE_FLAGS = {
  // Mailroom imports the data stack's exports (Fn::ImportValue): CloudFormation refuses to
  // delete MailroomData, or an export of it, while Mailroom uses it. That is the point of
  // the split; said explicitly, since aws-cdk-lib now asks.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
} as const;

export interface MailroomApp {
  app: App;
  stateful: StatefulStack;
  service: ServiceStack;
}

/**
 * Builds the app. `context` is what `-c key=value` gives the CLI (infra/context.ts, plus
 * `alarmEmail` and `rawRetentionDays`); when the CLI runs this file, its context arrives
 * through the environment as well and wins. `options` are for tests: an output directory,
 * or leaving out aws-cdk-lib's built-in template validation (seconds per app; `cdk synth`
 * always runs it).
 */
export function buildApp(
  context: Record<string, unknown> = {},
  options: Pick<AppProps, 'outdir' | 'builtinCloudFormationValidation'> = {},
): MailroomApp {
  const app = new App({ ...options, context: { ...FEATURE_FLAGS, ...context } });
  const get = (key: string): unknown => app.node.tryGetContext(key);
  const mailroom = readContext(get);
  const { alarmEmail, rawRetentionDays } = readOperationsContext(get);
  // Unset (no credentials, as in CI): environment-agnostic stacks, which still synthesise.
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };

  const stateful = new StatefulStack(app, STATEFUL_STACK, {
    env,
    description: 'Mailroom data: raw mail bucket, DynamoDB table, ingest queues, event bus',
    ingestVisibilityTimeout: ingestQueueVisibilityTimeout(),
    ...(rawRetentionDays === undefined ? {} : { rawRetentionDays }),
  });
  const service = new ServiceStack(app, SERVICE_STACK, {
    env,
    description: 'Mailroom compute: ingest Lambda, alarms and dashboard',
    data: stateful,
    mailroom,
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
  });
  applyNagChecks(app);
  return { app, stateful, service };
}

/** The context keys of operations, checked as infra/context.ts checks its own. */
export function readOperationsContext(get: (key: string) => unknown): {
  alarmEmail?: string;
  rawRetentionDays?: number;
} {
  const email = get('alarmEmail');
  if (
    email !== undefined &&
    email !== '' &&
    (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
  ) {
    throw new ContextError(`context alarmEmail must be an email address, got ${JSON.stringify(email)}`);
  }
  const days = get('rawRetentionDays');
  let rawRetentionDays: number | undefined;
  if (days !== undefined && days !== '') {
    rawRetentionDays = typeof days === 'number' ? days : Number(days);
    if (!Number.isInteger(rawRetentionDays) || rawRetentionDays < 1) {
      throw new ContextError(
        `context rawRetentionDays must be a whole number of days ≥ 1, got ${JSON.stringify(days)}`,
      );
    }
  }
  return {
    ...(typeof email === 'string' && email !== '' ? { alarmEmail: email } : {}),
    ...(rawRetentionDays === undefined ? {} : { rawRetentionDays }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildApp().app.synth();
}
