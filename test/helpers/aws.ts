import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { awsClientConfig } from './emulators.js';

/** Endpoints of the emulators test/global-setup.ts started for this run. */
export function emulators(): { dynamodb: string; fauxqs: string; ses: string } {
  return inject('emulators');
}

/** SDK client settings for one emulator. */
export function clientConfig(service: 'dynamodb' | 'fauxqs' | 'ses') {
  return awsClientConfig(emulators()[service]);
}

/** A name no other test uses: tables, buckets and queues are shared by the whole run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
