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
  /** Outbound: an smtp(s):// URL of a smarthost, or unset to capture outbound mail under dataDir/outbox. */
  smarthost: z.string().url().optional(),
  /** Implicit-TLS submission port (465 in production); unset: no such listener. */
  submissionTlsPort: port.optional(),
  /** PEM key and certificate for STARTTLS and implicit TLS; unset: a self-signed pair in dataDir/tls. */
  tlsKey: z.string().min(1).optional(),
  tlsCert: z.string().min(1).optional(),
  /** Allow AUTH without TLS on submission. Only ever true for loopback (dev). */
  allowInsecureAuth: z.boolean(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
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
  smarthost: 'MAILROOM_SMARTHOST',
  submissionTlsPort: 'MAILROOM_SUBMISSION_TLS_PORT',
  tlsKey: 'MAILROOM_TLS_KEY',
  tlsCert: 'MAILROOM_TLS_CERT',
  allowInsecureAuth: 'MAILROOM_ALLOW_INSECURE_AUTH',
  logLevel: 'MAILROOM_LOG_LEVEL',
};

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
  raw.allowInsecureAuth ??= isLoopback(String(raw.host));
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = String(issue.path[0]) as keyof Config;
      return `${field} (${ENV_NAMES[field] ?? 'flag'}): ${issue.message}, got ${JSON.stringify(raw[field])}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  if (parsed.data.allowInsecureAuth && !isLoopback(parsed.data.host)) {
    throw new ConfigError(
      `allowInsecureAuth (${ENV_NAMES.allowInsecureAuth}) is only allowed when listening on loopback, not on ${parsed.data.host}`,
    );
  }
  if (Boolean(parsed.data.tlsKey) !== Boolean(parsed.data.tlsCert)) {
    throw new ConfigError(
      'tlsKey (MAILROOM_TLS_KEY) and tlsCert (MAILROOM_TLS_CERT) go together: give both or neither',
    );
  }
  return parsed.data;
}
