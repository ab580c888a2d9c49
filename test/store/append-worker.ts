/*
 * Run as a separate process by sqlite-store.test.ts: opens the store file given on the
 * command line and appends messages to alice's INBOX, printing the UIDs it got as JSON.
 * Usage: node --import tsx append-worker.ts <db path> <count> <tag>
 */
import { SqliteStore } from '../../lib/store/index.js';
import { makeNewMessage } from '../helpers/messages.js';

const [path, count, tag] = process.argv.slice(2);
if (path === undefined || count === undefined || tag === undefined) {
  throw new Error('usage: append-worker.ts <db path> <count> <tag>');
}
const store = SqliteStore.open(path);
const uids: number[] = [];
for (let i = 0; i < Number(count); i++) {
  const result = await store.appendMessage('alice@example.test', 'INBOX', makeNewMessage({ blobKey: `${tag}/${i}` }));
  uids.push(result.uid);
}
await store.close();
process.stdout.write(JSON.stringify(uids));
