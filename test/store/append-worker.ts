/*
 * Run as a separate process by sqlite-store.test.ts: opens the store file given on the
 * command line, prints "ready", waits for a line on stdin (so that all workers start
 * together), appends messages to alice's INBOX and prints the UIDs it got as JSON.
 * Usage: node --import tsx append-worker.ts <db path> <count> <tag>
 */
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import { SqliteStore } from '../../lib/store/index.js';
import { makeNewMessage } from '../helpers/messages.js';

const [path, count, tag] = process.argv.slice(2);
if (path === undefined || count === undefined || tag === undefined) {
  throw new Error('usage: append-worker.ts <db path> <count> <tag>');
}
const store = SqliteStore.open(path);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
process.stdin.pause();
const uids: number[] = [];
for (let i = 0; i < Number(count); i++) {
  const result = await store.appendMessage(
    'alice@example.test',
    'INBOX',
    makeNewMessage({ blobKey: `${tag}/${i}` }),
  );
  uids.push(result.uid);
  await setImmediate();
}
await store.close();
process.stdout.write(`${JSON.stringify(uids)}\n`);
