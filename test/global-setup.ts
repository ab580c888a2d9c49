import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, startFauxqs, startSesLocal, type Emulator } from './helpers/emulators.js';

/*
 * One set of AWS emulators for the whole run (a JVM per test file would crowd 2 cores):
 * started before the first test file, stopped after the last. Tests reach them through
 * `inject('emulators')` (test/helpers/aws.ts) and keep apart by unique table, bucket and
 * queue names.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    emulators: { dynamodb: string; fauxqs: string; ses: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Emulator[] = [];
  try {
    const [dynamodb, fauxqs, ses] = await Promise.all([startDynamoDbLocal(), startFauxqs(), startSesLocal()]);
    started.push(dynamodb, fauxqs, ses);
    project.provide('emulators', { dynamodb: dynamodb.endpoint, fauxqs: fauxqs.endpoint, ses: ses.endpoint });
  } catch (err) {
    await Promise.all(started.map((e) => e.stop()));
    throw err;
  }
  return async () => {
    await Promise.all(started.map((e) => e.stop()));
  };
}
