import { Annotations, ArnFormat, CustomResource, Duration, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

/**
 * Where SES stores messages by default: inside `raw/`, where every raw message lives
 * (lib/smtp/ids.ts, infra/stateful-stack.ts RAW_PREFIX), so the grants, lifecycle and
 * BlobStore keys that hold for raw mail hold for SES's too. The ingest function reads
 * `raw/ses/<SES message id>` as the blob key (the BlobStore has no prefix of its own; with
 * MAILROOM_BUCKET_PREFIX set, this prefix must lie inside it: lib/ingest/s3-event.ts).
 * SMTP ingress keys are `raw/<year>/...`, so the notification's prefix filter never
 * matches them.
 */
export const SES_PREFIX = 'raw/ses/';

/** The one rule of the rule set. */
export const RULE_NAME = 'store';

/** What the deploy's custom resource is called in the template. */
export const ACTIVATION_RESOURCE_TYPE = 'Custom::SesActiveReceiptRuleSet';

export interface SesIngressProps {
  /** The domains whose mail SES receives (verified SES identities: MailDomains makes them). */
  readonly domains: readonly string[];
  /** The raw-message bucket. Must be a bucket of this app (its policy gets SES's statement). */
  readonly bucket: s3.IBucket;
  /** The ingest queue: S3 announces each stored message there. */
  readonly queue: sqs.IQueue;
  /** Key prefix SES writes under. Default SES_PREFIX (`raw/ses/`). */
  readonly prefix?: string;
  /** Name of the receipt rule set (one namespace per account and region). Default: unique from the construct path. */
  readonly ruleSetName?: string;
}

/**
 * Mail received by SES instead of the SMTP container (context `ingress=ses`):
 *
 *   sender ──SMTP/TLS──▶ SES (MX inbound-smtp.<region>.amazonaws.com), spam and virus scan
 *     ──S3 action──▶ bucket <prefix><message id>
 *     ──ObjectCreated notification──▶ the ingest queue ──▶ ingest Lambda
 *        (lib/ingest/s3-event.ts reads the envelope SES wrote into the message header)
 *
 * The rule set has one rule for the domains' recipients: TLS required, scanning on, and
 * the S3 action. The deploy activates the rule set (SES has one active rule set per
 * account and region, so this replaces whichever was active), and deleting the stack
 * deactivates it only if it is still the active one.
 *
 * The bucket policy statement, the bucket notification and the queue policy statement
 * are made in the stack of the bucket and the queue (the stateful stack), and reference
 * nothing of this construct's stack, so no reference runs back from data to compute.
 *
 * SES accepts every recipient of the domains (it cannot ask the directory at RCPT time as
 * the SMTP ingress does); ingest skips those the directory does not know.
 */
export class SesIngress extends Construct {
  readonly ruleSet: ses.ReceiptRuleSet;
  /** The rule set's name, as a plain string (the bucket policy and the activation name it). */
  readonly ruleSetName: string;
  readonly rule: ses.ReceiptRule;
  readonly prefix: string;
  /** What the domains' MX records name: SES's inbound endpoint in this stack's region. */
  readonly mxTarget: string;
  /** The custom resource that makes the rule set the active one. */
  readonly activation: CustomResource;

  constructor(scope: Construct, id: string, props: SesIngressProps) {
    super(scope, id);
    if (props.domains.length === 0) throw new Error('SesIngress needs at least one domain');
    const prefix = props.prefix ?? SES_PREFIX;
    // An empty prefix would announce every object of the bucket, SMTP ingress's included.
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/.test(prefix)) {
      throw new Error(`SesIngress prefix must be a non-empty key prefix, got ${JSON.stringify(prefix)}`);
    }
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
    const stack = Stack.of(this);
    this.mxTarget = `inbound-smtp.${stack.region}.amazonaws.com`;

    const ruleSetName =
      props.ruleSetName ??
      Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }).replace(/^-+/, '');
    this.ruleSetName = ruleSetName;
    this.ruleSet = new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: ruleSetName });

    // SES's write access: only this rule of this account, only under the prefix (the
    // confused-deputy conditions AWS documents for SES's S3 action). Names, not references,
    // so the statement can live in the bucket's stack.
    const dataStack = Stack.of(props.bucket);
    const ruleArn = dataStack.formatArn({
      service: 'ses',
      resource: 'receipt-rule-set',
      resourceName: `${ruleSetName}:receipt-rule/${RULE_NAME}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const { statementAdded, policyDependable } = props.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SesIngressPutObject',
        principals: [new iam.ServicePrincipal('ses.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [props.bucket.arnForObjects(`${this.prefix}*`)],
        conditions: {
          StringEquals: { 'aws:SourceAccount': dataStack.account },
          ArnLike: { 'aws:SourceArn': ruleArn },
        },
      }),
    );
    if (!statementAdded) {
      Annotations.of(this).addWarningV2(
        'mailroom:ses-ingress-bucket-policy',
        `The bucket is imported: give ses.amazonaws.com s3:PutObject on ${this.prefix}* yourself, or SES cannot store mail`,
      );
    }

    this.rule = this.ruleSet.addRule('Store', {
      receiptRuleName: RULE_NAME,
      recipients: [...props.domains],
      enabled: true,
      scanEnabled: true,
      tlsPolicy: ses.TlsPolicy.REQUIRE,
      actions: [
        { bind: () => ({ s3Action: { bucketName: props.bucket.bucketName, objectKeyPrefix: this.prefix } }) },
      ],
    });
    // SES checks that it may write when the rule is created.
    if (policyDependable) this.rule.node.addDependency(policyDependable);

    // S3 → the ingest queue. SqsDestination adds the queue policy statement: s3.amazonaws.com
    // may SendMessage when aws:SourceArn is this bucket.
    props.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(props.queue), {
      prefix: this.prefix,
    });
    acknowledgeBucketNotificationsHandler(dataStack);

    this.activation = this.activate(ruleSetName);
  }

  private activate(ruleSetName: string): CustomResource {
    const logGroup = new logs.LogGroup(this, 'ActivationLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
    });
    // Roles of our own rather than the default ones, whose AWS managed policy
    // (AWSLambdaBasicExecutionRole) may write to every log group of the account.
    const handlerRole = new iam.Role(this, 'ActivationHandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Makes the Mailroom SES receipt rule set the active one, and deactivates it on delete',
    });
    logGroup.grantWrite(handlerRole);
    handlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ses:SetActiveReceiptRuleSet', 'ses:DescribeActiveReceiptRuleSet'],
        resources: ['*'],
      }),
    );
    acknowledge(
      handlerRole,
      'AwsSolutions-IAM5[Resource::*]',
      'SES SetActiveReceiptRuleSet and DescribeActiveReceiptRuleSet act on the account and region setting, not on a resource: IAM has no narrower resource for them.',
    );
    const handler = new lambda.Function(this, 'ActivationHandler', {
      description:
        'Makes the Mailroom SES receipt rule set the active one (deactivates it on delete if still active)',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(ACTIVATION_HANDLER_SOURCE),
      timeout: Duration.seconds(30),
      role: handlerRole,
      logGroup,
    });

    const frameworkRole = new iam.Role(this, 'ActivationProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The CDK custom resource provider framework of the SES rule set activation',
    });
    logGroup.grantWrite(frameworkRole);
    const provider = new cr.Provider(this, 'ActivationProvider', {
      onEventHandler: handler,
      frameworkOnEventRole: frameworkRole,
      logGroup,
    });
    acknowledge(
      frameworkRole,
      `AwsSolutions-IAM5[Resource::<${nagLogicalId(handler)}.Arn>:*]`,
      "The CDK provider framework invokes the activation handler by any version or alias (function ARN with :*); it is this one function's ARN, nothing else.",
    );

    const activation = new CustomResource(this, 'Activation', {
      serviceToken: provider.serviceToken,
      resourceType: ACTIVATION_RESOURCE_TYPE,
      properties: { RuleSetName: ruleSetName },
    });
    // Active only once the rule exists: an active set without it would refuse the mail.
    activation.node.addDependency(this.rule);
    return activation;
  }
}

/**
 * The activation handler, inline (CommonJS, the AWS SDK v3 of the Node.js runtime). An
 * AwsCustomResource cannot do it: its delete is one fixed SDK call, and deactivating
 * unconditionally would switch off another application's rule set if someone activated
 * theirs after this deploy. So on delete it asks which set is active and deactivates only
 * its own. The physical id is the rule set name: renaming the set replaces the resource,
 * the new set is activated first, and the old one's delete then finds it no longer active.
 */
export const ACTIVATION_HANDLER_SOURCE = `
const { SESClient, SetActiveReceiptRuleSetCommand, DescribeActiveReceiptRuleSetCommand } = require('@aws-sdk/client-ses');
const ses = new SESClient({});
exports.handler = async (event) => {
  const name = event.ResourceProperties.RuleSetName;
  if (event.RequestType === 'Delete') {
    const active = await ses.send(new DescribeActiveReceiptRuleSetCommand({}));
    const activeName = active.Metadata ? active.Metadata.Name : undefined;
    if (activeName === name) {
      await ses.send(new SetActiveReceiptRuleSetCommand({}));
      console.log('deactivated receipt rule set ' + name);
    } else {
      console.log('receipt rule set ' + name + ' is not the active one (' + activeName + '); left as it is');
    }
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  await ses.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: name }));
  console.log('activated receipt rule set ' + name);
  return { PhysicalResourceId: name };
};
`;

/** The logical id cdk-nag names a resource by in its finding ids. */
function nagLogicalId(fn: lambda.Function): string {
  return Stack.of(fn).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
}

/** The id aws-cdk-lib gives the stack-wide singleton that applies bucket notifications. */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/**
 * The bucket notification is applied by aws-cdk-lib's own custom resource, a singleton in
 * the bucket's stack: its findings are acknowledged here, where it is made to exist.
 */
function acknowledgeBucketNotificationsHandler(stack: Stack): void {
  const handler = stack.node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER_ID);
  if (!handler) return;
  acknowledge(
    handler,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "aws-cdk-lib's BucketNotificationsHandler, which writes the bucket's notification configuration at deploy: its role is made by aws-cdk-lib with this managed policy and cannot be given another.",
  );
}
