import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import {
  AccountSuspendedException,
  InternalServiceErrorException,
  LimitExceededException,
  MailFromDomainNotVerifiedException,
  MessageRejected,
  SESv2Client,
  SendingPausedException,
  TooManyRequestsException,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import iconv from 'iconv-lite';
import { clientConfig, emulators, uniqueName } from '../helpers/aws.js';
import { SesOutbound } from '../../lib/outbound/ses-outbound.js';
import {
  OutboundError,
  PermanentOutboundError,
  TemporaryOutboundError,
  isPermanentOutboundError,
} from '../../lib/outbound/errors.js';

/** What aws-ses-v2-local keeps of a raw send (it parses the bytes; it does not keep them). */
interface StoredEmail {
  messageId: string;
  from: string;
  subject: string;
  body: { text?: string; html?: string };
  attachments: { filename?: string; content: string }[];
}

interface Recorded {
  input: SendEmailCommandInput;
  /** The JSON body that went over the wire. */
  wireBody: string;
}

/** An SES client that keeps every SendEmail input and request body it sends. */
function recordingClient(config: ReturnType<typeof clientConfig> & { maxAttempts?: number }) {
  const client = new SESv2Client(config);
  const calls: Recorded[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const body = (args as { request?: { body?: unknown } }).request?.body;
      calls.push({
        input: args.input as SendEmailCommandInput,
        // The SDK hands the JSON over as a string or as its UTF-8 bytes.
        wireBody:
          typeof body === 'string'
            ? body
            : body instanceof Uint8Array
              ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
              : '',
      });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordSendEmail' },
  );
  return { client, calls };
}

async function stored(subject: string): Promise<StoredEmail[]> {
  const response = await fetch(`${emulators().ses}/store`);
  const { emails } = (await response.json()) as { emails: StoredEmail[] };
  return emails.filter((e) => e.subject === subject);
}

/**
 * A message whose bytes would not survive any re-encoding: KOI8-R text sent as 8bit, an
 * attachment of random bytes, CRLF line ends, and a To/Cc that differ from the envelope.
 */
function rawMessage(subject: string, attachment: Buffer): Buffer {
  const boundary = 'b-' + randomBytes(6).toString('hex');
  return Buffer.concat([
    Buffer.from(
      'Received: from mx.far.test by mailroom; Tue, 2 Jan 2024 03:04:05 +0000\r\n' +
        'From: Sender <sender@far.test>\r\n' +
        'To: team@example.test\r\n' +
        'Cc: other@example.test\r\n' +
        `Subject: ${subject}\r\n` +
        'Date: Tue, 2 Jan 2024 03:04:05 +0000\r\n' +
        `Message-ID: <${subject}@far.test>\r\n` +
        'MIME-Version: 1.0\r\n' +
        `Content-Type: multipart/mixed; boundary="${boundary}"\r\n` +
        '\r\n' +
        `--${boundary}\r\n` +
        'Content-Type: text/plain; charset=koi8-r\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n' +
        '\r\n',
    ),
    iconv.encode('Привет, команда!\r\n', 'koi8-r'),
    Buffer.from(
      `--${boundary}\r\n` +
        'Content-Type: application/octet-stream; name="data.bin"\r\n' +
        'Content-Disposition: attachment; filename="data.bin"\r\n' +
        'Content-Transfer-Encoding: base64\r\n' +
        '\r\n' +
        attachment.toString('base64').replace(/.{76}/g, '$&\r\n') +
        '\r\n' +
        `--${boundary}--\r\n`,
    ),
  ]);
}

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('SesOutbound against aws-ses-v2-local', () => {
  const { client, calls } = recordingClient(clientConfig('ses'));
  const outbound = new SesOutbound({
    client,
    bounceAddress: 'bounces@example.test',
    configurationSetName: 'mailroom-forwards',
  });
  afterAll(async () => {
    await outbound.close();
    client.destroy();
  });

  it('sends the raw bytes unchanged, to the envelope recipients stated explicitly', async () => {
    // Prepare
    const subject = uniqueName('ses-raw');
    const attachment = randomBytes(3000);
    const raw = rawMessage(subject, attachment);
    const before = calls.length;

    // Act
    const result = await outbound.send({
      id: 'job-1-out',
      from: 'sender@far.test',
      // hidden@bcc.test is in no header: only the envelope names it, as for a Bcc.
      to: ['partner@elsewhere.test', 'hidden@bcc.test'],
      raw,
    });

    // Assess: the command and the bytes on the wire
    expect(result.accepted).toEqual(['partner@elsewhere.test', 'hidden@bcc.test']);
    const sent = calls.slice(before);
    expect(sent).toHaveLength(1);
    const { input, wireBody } = sent[0]!;
    expect(input.FromEmailAddress).toBe('sender@far.test');
    expect(input.Destination).toEqual({ ToAddresses: ['partner@elsewhere.test', 'hidden@bcc.test'] });
    expect(input.ConfigurationSetName).toBe('mailroom-forwards');
    expect(Buffer.from(input.Content!.Raw!.Data!).equals(raw)).toBe(true);
    const wire = JSON.parse(wireBody) as { Content: { Raw: { Data: string } }; Destination: unknown };
    expect(Buffer.from(wire.Content.Raw.Data, 'base64').equals(raw)).toBe(true);
    expect(wire.Destination).toEqual({ ToAddresses: ['partner@elsewhere.test', 'hidden@bcc.test'] });

    // Assess: what the emulator parsed out of the bytes it got (it keeps no copy of them)
    const [email, ...others] = await stored(subject);
    expect(others).toHaveLength(0);
    expect(email!.from).toContain('<sender@far.test>');
    expect(email!.body.text).toContain('Привет, команда!');
    expect(email!.attachments).toHaveLength(1);
    expect(email!.attachments[0]!.filename).toBe('data.bin');
    expect(Buffer.from(email!.attachments[0]!.content, 'base64').equals(attachment)).toBe(true);
  });

  it('sends a null reverse path from the configured bounce address', async () => {
    const subject = uniqueName('ses-bounce');
    const before = calls.length;

    await outbound.send({
      id: 'job-2-out',
      from: null,
      to: ['partner@elsewhere.test'],
      raw: rawMessage(subject, randomBytes(10)),
    });

    expect(calls[before]!.input.FromEmailAddress).toBe('bounces@example.test');
    expect(await stored(subject)).toHaveLength(1);
  });

  it("sends a forward of someone else's mail as from the forwarding address, the bounce address as sender", async () => {
    // Prepare
    const subject = uniqueName('ses-forward');
    const raw = rawMessage(subject, randomBytes(100));
    const before = calls.length;

    // Act
    await outbound.send({
      id: 'job-4-out',
      from: 'sender@far.test',
      to: ['partner@elsewhere.test'],
      raw,
      forwardedFor: 'team@example.test',
    });

    // Assess: From is ours (SES sends only from verified identities), the body unchanged
    const { input } = calls[before]!;
    expect(input.FromEmailAddress).toBe('bounces@example.test');
    const sent = Buffer.from(input.Content!.Raw!.Data!);
    const header = sent.toString('latin1', 0, sent.indexOf('\r\n\r\n'));
    expect(header).toContain('From: "Sender via example.test" <team@example.test>\r\n');
    expect(header).toContain('Reply-To: Sender <sender@far.test>');
    expect(sent.subarray(sent.indexOf('\r\n\r\n')).equals(raw.subarray(raw.indexOf('\r\n\r\n')))).toBe(true);
    const [email] = await stored(subject);
    expect(email!.from).toContain('<team@example.test>');

    // A forward whose author is of the forwarding domain goes as it is.
    const own = Buffer.from(
      raw.toString('latin1').replace('Sender <sender@far.test>', 'Ann <ann@example.test>'),
      'latin1',
    );
    await outbound.send({
      id: 'job-5-out',
      from: 'ann@example.test',
      to: ['partner@elsewhere.test'],
      raw: own,
      forwardedFor: 'team@example.test',
    });
    expect(calls.at(-1)!.input.FromEmailAddress).toBe('ann@example.test');
    expect(Buffer.from(calls.at(-1)!.input.Content!.Raw!.Data!).equals(own)).toBe(true);
  });

  it('splits more than 50 recipients into several sends of the same bytes', async () => {
    const subject = uniqueName('ses-many');
    const raw = rawMessage(subject, randomBytes(10));
    const to = Array.from({ length: 120 }, (_, i) => `r${i}@elsewhere.test`);
    const before = calls.length;

    const result = await outbound.send({ id: 'job-3-out', from: 'sender@far.test', to, raw });

    const sent = calls.slice(before).map((c) => c.input);
    expect(sent.map((i) => i.Destination!.ToAddresses!.length)).toEqual([50, 50, 20]);
    expect(sent.flatMap((i) => i.Destination!.ToAddresses)).toEqual(to);
    expect(sent.every((i) => Buffer.from(i.Content!.Raw!.Data!).equals(raw))).toBe(true);
    expect(result.accepted).toEqual(to);
    expect(await stored(subject)).toHaveLength(3);
  });

  it('sends nothing when there is no recipient', async () => {
    const before = calls.length;
    await expect(
      outbound.send({ id: 'x', from: 'a@far.test', to: [], raw: Buffer.from('x') }),
    ).resolves.toEqual({
      accepted: [],
    });
    expect(calls.length).toBe(before);
  });

  it('maps a refused request (4xx) to a permanent failure', async () => {
    // aws-ses-v2-local answers 400 to raw content without a From header.
    const raw = Buffer.from(`Subject: ${uniqueName('ses-nofrom')}\r\n\r\nno from header\r\n`);

    const error = await outbound
      .send({ id: 'job-4-out', from: 'a@far.test', to: ['b@elsewhere.test'], raw })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentOutboundError);
    expect(isPermanentOutboundError(error)).toBe(true);
  });

  it('maps an endpoint that does not answer to a retryable failure', async () => {
    const port = await closedPort();
    const dead = new SesOutbound({
      clientConfig: { ...clientConfig('ses'), endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 },
      bounceAddress: 'bounces@example.test',
    });

    const error = await dead
      .send({
        id: 'job-5-out',
        from: 'a@far.test',
        to: ['b@elsewhere.test'],
        raw: rawMessage('x', randomBytes(1)),
      })
      .catch((e: unknown) => e);
    await dead.close();

    expect(error).toBeInstanceOf(TemporaryOutboundError);
    expect(error).toMatchObject({ permanent: false, reason: 'ECONNREFUSED', code: 'OUTBOUND_TEMPORARY' });
    expect(isPermanentOutboundError(error)).toBe(false);
  });
});

describe('SesOutbound error mapping', () => {
  const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
  const cases = [
    {
      error: new MessageRejected({ message: 'Email address is not verified.', ...meta(400) }),
      permanent: true,
    },
    {
      error: new MailFromDomainNotVerifiedException({ message: 'not verified', ...meta(400) }),
      permanent: true,
    },
    { error: new AccountSuspendedException({ message: 'suspended', ...meta(400) }), permanent: true },
    { error: new SendingPausedException({ message: 'paused', ...meta(400) }), permanent: true },
    { error: new TooManyRequestsException({ message: 'slow down', ...meta(429) }), permanent: false },
    { error: new LimitExceededException({ message: 'quota', ...meta(400) }), permanent: false },
    { error: new InternalServiceErrorException({ message: 'oops', ...meta(500) }), permanent: false },
  ].map((c) => ({ ...c, name: c.error.name }));

  it.each(cases)('$name → permanent: $permanent', async ({ name, error: thrown, permanent }) => {
    // Prepare: the SES answer is injected where the request would have been sent.
    const client = new SESv2Client(clientConfig('ses'));
    client.middlewareStack.add(
      () => async () => {
        throw thrown;
      },
      { step: 'initialize', name: 'answerWithError' },
    );
    const outbound = new SesOutbound({ client, bounceAddress: 'bounces@example.test' });

    // Act
    const error = await outbound
      .send({ id: 'e', from: 'a@far.test', to: ['b@elsewhere.test'], raw: Buffer.from('x') })
      .catch((e: unknown) => e);
    client.destroy();

    // Assess
    expect(error).toBeInstanceOf(OutboundError);
    expect(error).toMatchObject({ permanent, reason: name });
    expect((error as Error).cause).toBe(thrown);
  });
});
