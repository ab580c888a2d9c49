import { resolve } from 'node:path';
import { z } from 'zod';

/** A configuration value that is wrong: the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const port = z.coerce.number().int().min(0).max(65535);

/** Everything `mailroom dev` runs with; each field has a flag and an environment variable. */
export const configSchema = z.object({
  dataDir: z.string().min(1),
  host: z.string().min(1),
  smtpPort: port,
  submissionPort: port,
  imapPort: port,
  /** IMAP over implicit TLS (993 in production). */
  imapTlsPort: port,
  pop3Port: port,
  /** POP3 over implicit TLS (995 in production). */
  pop3TlsPort: port,
  /** Seconds a POP3 maildrop lock outlives a process that died holding it (renewed every third of it). */
  pop3LockSeconds: z.coerce.number().int().min(1).max(3600),
  /** The name this server gives in its banner and Received: headers. */
  hostname: z.string().min(1),
  /** SIZE limit in bytes (RFC 1870). */
  maxMessageBytes: z.coerce.number().int().min(1024),
  /** Recipients accepted per message; RFC 5321 §4.5.3.1.8 asks for at least 100. */
  maxRecipients: z.coerce.number().int().min(100),
  /** Deliveries tried before a job dead-letters. */
  maxReceiveCount: z.coerce.number().int().min(1).max(100),
  /** Seconds a job stays invisible while ingest works on it; a crashed worker's jobs reappear after it. */
  visibilityTimeoutSeconds: z.coerce.number().int().min(1).max(43200),
  /**
   * Seconds the SMTP ingress and ingest reuse a directory answer (domain, account, alias,
   * routes) instead of reading the store again; a directory change reaches a running process
   * within this time. 0: no cache. Default: 30 on the aws backend, where each read is billed,
   * 0 on the local backend.
   */
  directoryCacheSeconds: z.coerce.number().int().min(0).max(3600),
  /** Outbound: an smtp(s):// URL of a smarthost, or unset to capture outbound mail under dataDir/outbox. */
  smarthost: z.string().url().optional(),
  /** Implicit-TLS submission port (465 in production); unset: no such listener. */
  submissionTlsPort: port.optional(),
  /**
   * Plain-text listeners behind a load balancer that terminates TLS for them (its 465, 993
   * and 995 in the cloud, infra/constructs/mail-services.ts). A session on one of these ports
   * counts as TLS: AUTH/LOGIN/USER are allowed in it and STARTTLS is not offered. Setting one
   * replaces the container's own implicit-TLS listener of that protocol (imapTlsPort,
   * pop3TlsPort, submissionTlsPort are then not opened): that port is the balancer's job.
   * NEVER reachable from anywhere but the load balancer: a client that connects straight to
   * one sends its password in clear while the server believes the line is encrypted.
   */
  submissionOffloadPort: port.optional(),
  imapOffloadPort: port.optional(),
  pop3OffloadPort: port.optional(),
  /** PEM key and certificate files for STARTTLS and implicit TLS; unset: a self-signed pair in dataDir/tls. */
  tlsKey: z.string().min(1).optional(),
  tlsCert: z.string().min(1).optional(),
  /**
   * The same key and certificate (chain) as PEM text, e.g. from Secrets Manager through ECS
   * secrets; an alternative to the files, never both. A "\n" escape stands for a line break.
   */
  tlsKeyPem: z.string().min(1).optional(),
  tlsCertPem: z.string().min(1).optional(),
  /**
   * Allow AUTH without TLS on submission (and LOGIN/USER on IMAP/POP3). Only ever true for
   * loopback (dev); default: true on loopback, except when an offload port is set.
   */
  allowInsecureAuth: z.boolean(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),

  /** `mailroom smtp` / `mailroom access`: the HTTP health check port for the load balancer. */
  healthPort: port,
  /** Seconds between SIGTERM (health turns 503) and closing the listeners, so the balancer stops sending first. */
  drainSeconds: z.coerce.number().int().min(0).max(600),
  /** Where everything is kept: this machine (SQLite and files) or AWS (DynamoDB, S3, SQS). */
  backend: z.enum(['local', 'aws']),
  /** AWS region; the SDK's own AWS_REGION. */
  awsRegion: z.string().min(1).optional(),
  /** aws backend: the DynamoDB table (docs/dynamodb.md). */
  table: z.string().min(3).max(255).optional(),
  /** aws backend: the S3 bucket of raw messages, and the key prefix inside it. */
  bucket: z.string().min(3).max(63).optional(),
  bucketPrefix: z.string().max(200).optional(),
  /** aws backend: the ingest queue and its dead-letter queue. */
  queueUrl: z.string().url().optional(),
  deadLetterQueueUrl: z.string().url().optional(),
  /** aws backend: EventBridge bus for mailroom.message.received; unset: no events. */
  eventBus: z.string().min(1).optional(),
  /** Envelope sender for forwards of bounces (null reverse path); default mailer-daemon@<hostname>. */
  bounceAddress: z.string().email().optional(),
  /** aws backend: SES configuration set for forwards and outbound mail. */
  sesConfigurationSet: z.string().min(1).optional(),
  /** Endpoint overrides (emulators, VPC endpoints). */
  dynamodbEndpoint: z.string().url().optional(),
  s3Endpoint: z.string().url().optional(),
  sqsEndpoint: z.string().url().optional(),
  sesEndpoint: z.string().url().optional(),
  eventbridgeEndpoint: z.string().url().optional(),
});

export type Config = z.infer<typeof configSchema>;

export const DEFAULTS = {
  host: '127.0.0.1',
  smtpPort: 2525,
  submissionPort: 2587,
  imapPort: 2143,
  imapTlsPort: 2993,
  pop3Port: 2110,
  pop3TlsPort: 2995,
  pop3LockSeconds: 60,
  hostname: 'mailroom.localhost',
  maxMessageBytes: 40 * 1024 * 1024,
  maxRecipients: 100,
  maxReceiveCount: 5,
  visibilityTimeoutSeconds: 60,
  logLevel: 'info',
  backend: 'local',
  healthPort: 8080,
  drainSeconds: 0,
} as const;

/** The environment variables read, by config field. */
export const ENV_NAMES: Record<keyof Config, string> = {
  dataDir: 'MAILROOM_DATA_DIR',
  host: 'MAILROOM_HOST',
  smtpPort: 'MAILROOM_SMTP_PORT',
  submissionPort: 'MAILROOM_SUBMISSION_PORT',
  imapPort: 'MAILROOM_IMAP_PORT',
  imapTlsPort: 'MAILROOM_IMAP_TLS_PORT',
  pop3Port: 'MAILROOM_POP3_PORT',
  pop3TlsPort: 'MAILROOM_POP3_TLS_PORT',
  pop3LockSeconds: 'MAILROOM_POP3_LOCK_SECONDS',
  hostname: 'MAILROOM_HOSTNAME',
  maxMessageBytes: 'MAILROOM_MAX_MESSAGE_BYTES',
  maxRecipients: 'MAILROOM_MAX_RECIPIENTS',
  maxReceiveCount: 'MAILROOM_MAX_RECEIVE_COUNT',
  visibilityTimeoutSeconds: 'MAILROOM_VISIBILITY_TIMEOUT',
  directoryCacheSeconds: 'MAILROOM_DIRECTORY_CACHE_SECONDS',
  smarthost: 'MAILROOM_SMARTHOST',
  submissionTlsPort: 'MAILROOM_SUBMISSION_TLS_PORT',
  submissionOffloadPort: 'MAILROOM_SUBMISSION_OFFLOAD_PORT',
  imapOffloadPort: 'MAILROOM_IMAP_OFFLOAD_PORT',
  pop3OffloadPort: 'MAILROOM_POP3_OFFLOAD_PORT',
  tlsKey: 'MAILROOM_TLS_KEY',
  tlsCert: 'MAILROOM_TLS_CERT',
  tlsKeyPem: 'MAILROOM_TLS_KEY_PEM',
  tlsCertPem: 'MAILROOM_TLS_CERT_PEM',
  allowInsecureAuth: 'MAILROOM_ALLOW_INSECURE_AUTH',
  logLevel: 'MAILROOM_LOG_LEVEL',
  backend: 'MAILROOM_BACKEND',
  healthPort: 'MAILROOM_HEALTH_PORT',
  drainSeconds: 'MAILROOM_DRAIN_SECONDS',
  awsRegion: 'AWS_REGION',
  table: 'MAILROOM_TABLE',
  bucket: 'MAILROOM_BUCKET',
  bucketPrefix: 'MAILROOM_BUCKET_PREFIX',
  queueUrl: 'MAILROOM_QUEUE_URL',
  deadLetterQueueUrl: 'MAILROOM_DLQ_URL',
  eventBus: 'MAILROOM_EVENT_BUS',
  sesConfigurationSet: 'MAILROOM_SES_CONFIGURATION_SET',
  bounceAddress: 'MAILROOM_BOUNCE_ADDRESS',
  dynamodbEndpoint: 'MAILROOM_DYNAMODB_ENDPOINT',
  s3Endpoint: 'MAILROOM_S3_ENDPOINT',
  sqsEndpoint: 'MAILROOM_SQS_ENDPOINT',
  sesEndpoint: 'MAILROOM_SES_ENDPOINT',
  eventbridgeEndpoint: 'MAILROOM_EVENTBRIDGE_ENDPOINT',
};

/** Settings whose value never appears in an error message. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['tlsKeyPem', 'tlsCertPem']);

const OFFLOAD_FIELDS = ['submissionOffloadPort', 'imapOffloadPort', 'pop3OffloadPort'] as const;

/** What the aws backend cannot start without. */
const AWS_REQUIRED = ['table', 'bucket', 'queueUrl', 'deadLetterQueueUrl'] as const;

/**
 * Default directoryCacheSeconds by backend: on DynamoDB every directory read is a billed
 * request; on SQLite it costs nothing, and a change from the CLI shows at once.
 */
const DIRECTORY_CACHE_SECONDS: Readonly<Record<string, number>> = { local: 0, aws: 30 };

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Builds the configuration: flags win over the environment, the environment over the
 * defaults. Throws ConfigError naming the setting (flag and variable) that is wrong.
 */
export function loadConfig(
  flags: Partial<Record<keyof Config, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = { ...DEFAULTS };
  for (const [field, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  for (const [field, value] of Object.entries(flags)) {
    if (value !== undefined) raw[field] = value;
  }
  raw.dataDir = resolve(String(raw.dataDir ?? '.mailroom'));
  if (typeof raw.allowInsecureAuth === 'string') {
    raw.allowInsecureAuth = ['1', 'true', 'yes'].includes(raw.allowInsecureAuth.toLowerCase());
  }
  const offloaded = OFFLOAD_FIELDS.some((field) => raw[field] !== undefined);
  if (offloaded && raw.allowInsecureAuth === true) {
    // An offload port already makes its sessions count as TLS; allowInsecureAuth on top would
    // only add passwords in clear on the STARTTLS ports, which is never what a balancer setup wants.
    throw new ConfigError(
      `allowInsecureAuth (${ENV_NAMES.allowInsecureAuth}) cannot be combined with the TLS offload ports ` +
        `(${OFFLOAD_FIELDS.map((f) => ENV_NAMES[f]).join(', ')}): their sessions already count as TLS`,
    );
  }
  // With a balancer in front the plain ports behave as in production, even on loopback.
  raw.allowInsecureAuth ??= offloaded ? false : isLoopback(String(raw.host));
  raw.directoryCacheSeconds ??= DIRECTORY_CACHE_SECONDS[String(raw.backend)] ?? 0;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0]) as keyof Config;
      const got = SECRET_FIELDS.has(field) ? '[redacted]' : JSON.stringify(raw[field]);
      return `${field} (${ENV_NAMES[field] ?? 'flag'}): ${issue.message}, got ${got}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  if (parsed.data.allowInsecureAuth && !isLoopback(parsed.data.host)) {
    throw new ConfigError(
      `allowInsecureAuth (${ENV_NAMES.allowInsecureAuth}) is only allowed when listening on loopback, not on ${parsed.data.host}`,
    );
  }
  if (parsed.data.backend === 'aws') {
    const missing = AWS_REQUIRED.filter((field) => parsed.data[field] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(
        `the aws backend needs ${missing.map((f) => `${f} (${ENV_NAMES[f]})`).join(', ')}`,
      );
    }
  }
  if (Boolean(parsed.data.tlsKey) !== Boolean(parsed.data.tlsCert)) {
    throw new ConfigError(
      'tlsKey (MAILROOM_TLS_KEY) and tlsCert (MAILROOM_TLS_CERT) go together: give both or neither',
    );
  }
  if (Boolean(parsed.data.tlsKeyPem) !== Boolean(parsed.data.tlsCertPem)) {
    throw new ConfigError(
      'tlsKeyPem (MAILROOM_TLS_KEY_PEM) and tlsCertPem (MAILROOM_TLS_CERT_PEM) go together: give both or neither',
    );
  }
  if (parsed.data.tlsKeyPem && parsed.data.tlsKey) {
    throw new ConfigError(
      'give the certificate either as PEM text (MAILROOM_TLS_KEY_PEM, MAILROOM_TLS_CERT_PEM) ' +
        'or as files (MAILROOM_TLS_KEY, MAILROOM_TLS_CERT), not both',
    );
  }
  checkOffloadPorts(parsed.data);
  return parsed.data;
}

/** An offload port must not be any other listener's port (0, any free port, may repeat). */
function checkOffloadPorts(config: Config): void {
  const others: [keyof Config, number | undefined][] = [
    ['smtpPort', config.smtpPort],
    ['submissionPort', config.submissionPort],
    ['submissionTlsPort', config.submissionOffloadPort === undefined ? config.submissionTlsPort : undefined],
    ['imapPort', config.imapPort],
    ['imapTlsPort', config.imapOffloadPort === undefined ? config.imapTlsPort : undefined],
    ['pop3Port', config.pop3Port],
    ['pop3TlsPort', config.pop3OffloadPort === undefined ? config.pop3TlsPort : undefined],
    ['healthPort', config.healthPort],
  ];
  const seen: [keyof Config, number | undefined][] = [...others];
  for (const field of OFFLOAD_FIELDS) {
    const value = config[field];
    if (value === undefined || value === 0) continue;
    const clash = seen.find(([, port]) => port === value);
    if (clash) {
      throw new ConfigError(
        `${field} (${ENV_NAMES[field]}) and ${clash[0]} (${ENV_NAMES[clash[0]]}) are both port ${value}`,
      );
    }
    seen.push([field, value]);
  }
}
