import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  Time?: number;
}

export interface RecordedCall {
  target: string;
  contentType: string;
  entries: RecordedEntry[];
}

/**
 * An endpoint that speaks EventBridge's JSON protocol for PutEvents (POST /, X-Amz-Target
 * AWSEvents.PutEvents) and records every call. It can be told to fail chosen events, by
 * their detail id: once, or every time.
 */
export async function startFakeEventBridge() {
  const calls: RecordedCall[] = [];
  const failOnce = new Map<string, string>();
  const failAlways = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      if (req.method !== 'POST' || req.url !== '/' || target !== 'AWSEvents.PutEvents') {
        res
          .writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
          .end(JSON.stringify({ __type: 'UnknownOperationException', message: `no ${target}` }));
        return;
      }
      const { Entries: entries } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Entries: RecordedEntry[];
      };
      calls.push({ target, contentType: String(req.headers['content-type']), entries });
      const results = entries.map((entry) => {
        const { id } = JSON.parse(entry.Detail) as { id: string };
        const code = failAlways.get(id) ?? failOnce.get(id);
        failOnce.delete(id);
        return code === undefined
          ? { EventId: randomUUID() }
          : { ErrorCode: code, ErrorMessage: `${code} for ${id}` };
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(
        JSON.stringify({
          FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
          Entries: results,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    calls,
    failOnce,
    failAlways,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
