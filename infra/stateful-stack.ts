import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULTS, ENV_NAMES } from '../lib/config.js';
import { TABLE_KEYS } from '../lib/store/dynamodb/schema.js';
import { acknowledge } from './nag.js';

/** Where every raw message lives in the bucket: lib/smtp/ids.ts rawBlobKey() writes `raw/<day>/<id>.eml`. */
export const RAW_PREFIX = 'raw/';

/** Receives of an ingest job before SQS moves it to the dead-letter queue; the runtime's own default. */
export const MAX_RECEIVE_COUNT = DEFAULTS.maxReceiveCount;

/** SQS's longest retention, on both queues (the same reasoning as lib/queue/sqs/queue-pair.ts). */
export const QUEUE_RETENTION = Duration.days(14);

/** The EventBridge bus mailroom.message.received events go to. */
export const EVENT_BUS_NAME = 'mailroom';

/**
 * The stateful resources the compute works on. StatefulStack is one; the service stack and
 * its constructs take this interface, so they never need the stack itself.
 */
export interface MailroomData {
  /** Raw messages under RAW_PREFIX: what SMTP ingress and IMAP APPEND write, ingest, IMAP and POP3 read. */
  readonly bucket: s3.IBucket;
  /** The one table of the DynamoDB store (docs/dynamodb.md), failure log included. */
  readonly table: dynamodb.ITableV2;
  /** Ingest jobs. */
  readonly queue: sqs.IQueue;
  /** Where a job goes after MAX_RECEIVE_COUNT failed receives. */
  readonly deadLetterQueue: sqs.IQueue;
  /** mailroom.message.received events. */
  readonly eventBus: events.IEventBus;
  /** S3 server access logs of the mail bucket; SSE-S3, so load balancer access logs can go here too (a prefix each). */
  readonly logBucket: s3.IBucket;
  /** GetObject under raw/: attach to the role of whatever reads mail (ingest, IMAP, POP3). */
  readonly rawReadPolicy: iam.IManagedPolicy;
  /** PutObject, AbortMultipartUpload, DeleteObject under raw/: SMTP ingress and IMAP APPEND. */
  readonly rawWritePolicy: iam.IManagedPolicy;
}

export interface StatefulStackProps extends StackProps {
  /**
   * The ingest queue's visibility timeout: set by the consumer's timeout
   * (constructs/ingest-pipeline.ts ingestQueueVisibilityTimeout()).
   */
  readonly ingestVisibilityTimeout: Duration;
  /**
   * Days after which S3 expires a raw message (`raw/`). A raw message is not a transient
   * ingest file: it is the body of the stored message (IMAP FETCH and POP3 RETR read it by
   * the blob key kept in the table), so expiring it removes the mail from the mailboxes
   * while the table still lists it. Default: kept for as long as the mail is.
   */
  readonly rawRetentionDays?: number;
  /** Keep object versions (an overwrite or delete stays recoverable for 30 days). Default true. */
  readonly versioned?: boolean;
  /** Days S3 server access logs are kept. Default 365. */
  readonly accessLogRetentionDays?: number;
}

/**
 * Everything that holds data: the mail bucket, the table, the ingest queues and the event
 * bus. A stack of its own, with termination protection, and every data resource RETAINed,
 * so that a redeploy, or even a deletion, of the compute never touches the mail.
 */
export class StatefulStack extends Stack implements MailroomData {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly table: dynamodb.TableV2;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly eventBus: events.EventBus;
  readonly rawReadPolicy: iam.ManagedPolicy;
  readonly rawWritePolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    // S3 server access logs authorised by a bucket policy on the log bucket, not by an ACL
    // (ACLs are off: BucketOwnerEnforced). Set here, before any resource, so the stack is
    // right in any app.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const { rawRetentionDays, versioned = true, accessLogRetentionDays = 365 } = props;
    if (rawRetentionDays !== undefined && (!Number.isInteger(rawRetentionDays) || rawRetentionDays < 1)) {
      throw new Error(`rawRetentionDays must be a whole number of days ≥ 1, got ${rawRetentionDays}`);
    }

    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // SSE-S3: the only encryption S3 server access logging (and NLB access logging) can write to.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(accessLogRetentionDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.logBucket,
      'AwsSolutions-S1',
      'This is the access log bucket itself: logging its own access into itself would log every log delivery, without end.',
    );

    this.bucket = new s3.Bucket(this, 'Mail', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // SSE-S3, as lib/blob/s3 asks for on every put (ServerSideEncryption AES256): no KMS grants to keep in step.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'mail-bucket/',
      lifecycleRules: mailLifecycle(versioned, rawRetentionDays),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The access to raw mail, as policies of this stack that compute roles attach: the
    // object ARNs stay references inside this stack (the prefix wildcard is acknowledged
    // once, here, where the key layout is decided), and every role gets the same shape.
    const rawObjects = this.bucket.arnForObjects(`${RAW_PREFIX}*`);
    this.rawReadPolicy = new iam.ManagedPolicy(this, 'RawReadPolicy', {
      description: 'Read raw Mailroom messages (raw/ in the mail bucket)',
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadRawMessages',
          actions: ['s3:GetObject'],
          resources: [rawObjects],
        }),
      ],
    });
    this.rawWritePolicy = new iam.ManagedPolicy(this, 'RawWritePolicy', {
      description: 'Write raw Mailroom messages (raw/ in the mail bucket)',
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteRawMessages',
          // lib/blob/s3: lib-storage's Upload (PutObject, or a multipart upload it aborts on
          // failure), and the delete of a blob whose job could not be enqueued.
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
          resources: [rawObjects],
        }),
      ],
    });
    for (const policy of [this.rawReadPolicy, this.rawWritePolicy]) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${RAW_PREFIX}*]`,
        'Each raw message is its own object raw/<day>/<id>.eml, named by the job at run time: the statement must cover the raw/ prefix, and covers nothing else in the bucket.',
      );
    }

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey.name, type: attributeType(TABLE_KEYS.partitionKey.type) },
      sortKey: { name: TABLE_KEYS.sortKey.name, type: attributeType(TABLE_KEYS.sortKey.type) },
      timeToLiveAttribute: TABLE_KEYS.timeToLiveAttribute,
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // No stream: nothing consumes one (IMAP IDLE polls the mailbox item, docs/dynamodb.md).
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'IngestDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A standard queue counts retention from the original send, in the dead-letter queue too.
      retentionPeriod: QUEUE_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new sqs.Queue(this, 'Ingest', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
      visibilityTimeout: props.ingestVisibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.eventBus = new events.EventBus(this, 'Events', { eventBusName: EVENT_BUS_NAME });

    const outputs: [string, string, string][] = [
      ['BucketName', this.bucket.bucketName, ENV_NAMES.bucket],
      ['TableName', this.table.tableName, ENV_NAMES.table],
      ['QueueUrl', this.queue.queueUrl, ENV_NAMES.queueUrl],
      ['DeadLetterQueueUrl', this.deadLetterQueue.queueUrl, ENV_NAMES.deadLetterQueueUrl],
      ['EventBusName', this.eventBus.eventBusName, ENV_NAMES.eventBus],
    ];
    for (const [outputId, value, envName] of outputs) {
      new CfnOutput(this, outputId, {
        value,
        description: `${envName} for the mailroom CLI on the aws backend`,
      });
    }
  }
}

/**
 * The environment the runtime reads (lib/config.ts ENV_NAMES) to find the stateful
 * resources: what the ingest Lambda and the containers set, besides their own settings.
 */
export function runtimeEnvironment(data: MailroomData): Record<string, string> {
  return {
    [ENV_NAMES.backend]: 'aws',
    [ENV_NAMES.table]: data.table.tableName,
    [ENV_NAMES.bucket]: data.bucket.bucketName,
    [ENV_NAMES.queueUrl]: data.queue.queueUrl,
    [ENV_NAMES.deadLetterQueueUrl]: data.deadLetterQueue.queueUrl,
    [ENV_NAMES.eventBus]: data.eventBus.eventBusName,
    [ENV_NAMES.maxReceiveCount]: String(MAX_RECEIVE_COUNT),
  };
}

/**
 * The DynamoDB calls of the store (lib/store/dynamodb, the failure log included), and no
 * others: no Scan, no table management. TransactWriteItems is authorised item by item as
 * Put/Update/Delete/ConditionCheck.
 */
export const STORE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** Lets a principal use the store: the table's data-plane calls above, on the table only (it has no index). */
export function grantStoreReadWrite(grantee: iam.IGrantable, data: Pick<MailroomData, 'table'>): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: [...STORE_TABLE_ACTIONS],
    resourceArns: [data.table.tableArn],
  });
}

function mailLifecycle(versioned: boolean, rawRetentionDays: number | undefined): s3.LifecycleRule[] {
  const rules: s3.LifecycleRule[] = [
    // Upload aborts parts on failure, but a process that dies mid-upload leaves them billed.
    { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
  ];
  if (versioned) {
    rules.push({
      id: 'raw-old-versions',
      prefix: RAW_PREFIX,
      noncurrentVersionExpiration: Duration.days(30),
      expiredObjectDeleteMarker: true,
    });
  }
  if (rawRetentionDays !== undefined) {
    rules.push({ id: 'raw-retention', prefix: RAW_PREFIX, expiration: Duration.days(rawRetentionDays) });
  }
  return rules;
}

/** TABLE_KEYS states key types as DynamoDB's letters; TableV2 wants its enum. */
function attributeType(type: 'S' | 'N' | 'B'): dynamodb.AttributeType {
  const types = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  };
  return types[type];
}
