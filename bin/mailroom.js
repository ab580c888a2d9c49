#!/usr/bin/env node
// Entry point of the `mailroom` command: registers tsx in this same process and imports the
// TypeScript CLI, so a clone needs no build step and signals (SIGTERM from a container
// runtime, Ctrl-C) reach the CLI itself, not a wrapper.
import { register } from 'tsx/esm/api';

register();
await import('../lib/cli/main.ts');
