#!/usr/bin/env node
// Entry point of the `mailroom` command: loads tsx into this same process and runs the
// TypeScript CLI, so a clone needs no build step and signals reach the CLI directly.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const loader = pathToFileURL(require.resolve('tsx')).href;
const result = spawnSync(
  process.execPath,
  ['--import', loader, join(here, '..', 'lib', 'cli', 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
