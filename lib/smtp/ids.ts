import { randomBytes } from 'node:crypto';

/**
 * Queue ids: 10 characters of time (ms, base 36, so ids sort by arrival) and 10 of
 * randomness. They name the job, the blob and the 250 reply.
 */
export function newQueueId(now = Date.now()): string {
  return (
    now.toString(36).padStart(10, '0') +
    randomBytes(8).toString('base64url').slice(0, 10).replace(/[-_]/g, 'x')
  );
}

/** Where a raw message lives in the BlobStore: by day, so a person can find it. */
export function rawBlobKey(id: string, date: Date): string {
  const day = date.toISOString().slice(0, 10).replace(/-/g, '/');
  return `raw/${day}/${id}.eml`;
}
