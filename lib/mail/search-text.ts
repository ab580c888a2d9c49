import type { BlobStore } from '../blob/types.js';
import { BlobNotFoundError } from '../blob/errors.js';
import { parseMessage } from './parse.js';

/**
 * The search text (headerText, bodyText) of the raw message at `key`, as ingest computed it
 * when the message came in; empty when the message is gone.
 */
export async function searchText(
  blobs: Pick<BlobStore, 'getBuffer'>,
  key: string,
): Promise<{ headerText: string; bodyText: string }> {
  let raw: Buffer;
  try {
    raw = await blobs.getBuffer(key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return { headerText: '', bodyText: '' };
    throw err;
  }
  const { headerText, bodyText } = await parseMessage(raw);
  return { headerText, bodyText };
}
