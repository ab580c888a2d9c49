import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { SmtpOutbound } from '../../lib/outbound/smtp-outbound.js';
import { PermanentOutboundError, TemporaryOutboundError } from '../../lib/outbound/errors.js';

/** A smarthost that answers RCPT TO with the reply code in the local part (`550@...`). */
async function startRefusingSmarthost() {
  const server = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    logger: false,
    onRcptTo(address, _session, callback) {
      const code = Number(address.address.split('@')[0]);
      if (!Number.isInteger(code)) return callback();
      callback(Object.assign(new Error(`refused with ${code}`), { responseCode: code }));
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('SmtpOutbound failures', () => {
  let smarthost: Awaited<ReturnType<typeof startRefusingSmarthost>>;
  let outbound: SmtpOutbound;
  const raw = Buffer.from('From: a@far.test\r\nTo: b@elsewhere.test\r\nSubject: x\r\n\r\nhi\r\n');
  beforeAll(async () => {
    smarthost = await startRefusingSmarthost();
    outbound = new SmtpOutbound(`smtp://127.0.0.1:${smarthost.port}`);
  });
  afterAll(async () => {
    await outbound.close();
    await smarthost.close();
  });

  it('accepts what the smarthost accepts', async () => {
    const result = await outbound.send({ id: '1', from: 'a@far.test', to: ['b@elsewhere.test'], raw });
    expect(result.accepted).toEqual(['b@elsewhere.test']);
  });

  it('turns a 5yz reply into a permanent failure', async () => {
    const error = await outbound
      .send({ id: '2', from: 'a@far.test', to: ['550@elsewhere.test'], raw })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentOutboundError);
    expect(error).toMatchObject({ permanent: true, reason: '550' });
  });

  it('turns a 4yz reply into a temporary failure', async () => {
    const error = await outbound
      .send({ id: '3', from: 'a@far.test', to: ['451@elsewhere.test'], raw })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporaryOutboundError);
    expect(error).toMatchObject({ permanent: false, reason: '451' });
  });
});
