import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../lib/config.js';

const AWS_ENV = {
  MAILROOM_BACKEND: 'aws',
  AWS_REGION: 'eu-west-1',
  MAILROOM_TABLE: 'mailroom',
  MAILROOM_BUCKET: 'mailroom-raw',
  MAILROOM_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ingest',
  MAILROOM_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ingest-dlq',
};

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration of the backend', () => {
  it('defaults to the local backend', () => {
    expect(loadConfig({ dataDir: '/tmp/x' }, {}).backend).toBe('local');
  });

  it('reads the aws backend, its names and endpoint overrides from the environment', () => {
    const config = loadConfig({}, { ...AWS_ENV, MAILROOM_S3_ENDPOINT: 'http://127.0.0.1:4566' });
    expect(config).toMatchObject({
      backend: 'aws',
      awsRegion: 'eu-west-1',
      table: 'mailroom',
      bucket: 'mailroom-raw',
      queueUrl: AWS_ENV.MAILROOM_QUEUE_URL,
      deadLetterQueueUrl: AWS_ENV.MAILROOM_DLQ_URL,
      s3Endpoint: 'http://127.0.0.1:4566',
    });
  });

  it('names every setting the aws backend is missing', () => {
    const message = configError(() => loadConfig({}, { MAILROOM_BACKEND: 'aws', MAILROOM_TABLE: 't-1' }));
    expect(message).toBe(
      'the aws backend needs bucket (MAILROOM_BUCKET), queueUrl (MAILROOM_QUEUE_URL), deadLetterQueueUrl (MAILROOM_DLQ_URL)',
    );
  });

  it('refuses an unknown backend and a malformed endpoint, naming the variable', () => {
    expect(configError(() => loadConfig({}, { MAILROOM_BACKEND: 'gcp' }))).toMatch(
      /backend \(MAILROOM_BACKEND\)/,
    );
    expect(configError(() => loadConfig({}, { ...AWS_ENV, MAILROOM_SQS_ENDPOINT: 'not a url' }))).toMatch(
      /sqsEndpoint \(MAILROOM_SQS_ENDPOINT\)/,
    );
  });
});

describe('configuration of the directory cache', () => {
  it('caches directory reads for 30 s on the aws backend and not at all on the local one', () => {
    // Act
    const aws = loadConfig({}, AWS_ENV);
    const local = loadConfig({ dataDir: '/tmp/x' }, {});

    // Assess
    expect(aws.directoryCacheSeconds).toBe(30);
    expect(local.directoryCacheSeconds).toBe(0);
  });

  it('takes MAILROOM_DIRECTORY_CACHE_SECONDS on either backend, 0 turning the cache off', () => {
    // Act
    const off = loadConfig({}, { ...AWS_ENV, MAILROOM_DIRECTORY_CACHE_SECONDS: '0' });
    const longer = loadConfig({}, { ...AWS_ENV, MAILROOM_DIRECTORY_CACHE_SECONDS: '300' });
    const local = loadConfig({ dataDir: '/tmp/x' }, { MAILROOM_DIRECTORY_CACHE_SECONDS: '5' });

    // Assess
    expect(off.directoryCacheSeconds).toBe(0);
    expect(longer.directoryCacheSeconds).toBe(300);
    expect(local.directoryCacheSeconds).toBe(5);
  });

  it.each(['-1', '1.5', 'soon', '3601'])('refuses %j, naming the variable and the value', (value) => {
    // Act
    const message = configError(() =>
      loadConfig({}, { ...AWS_ENV, MAILROOM_DIRECTORY_CACHE_SECONDS: value }),
    );

    // Assess
    expect(message).toMatch(
      /^invalid configuration: directoryCacheSeconds \(MAILROOM_DIRECTORY_CACHE_SECONDS\): /,
    );
    expect(message).toContain(`got ${JSON.stringify(value)}`);
  });
});
