import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { App, IgnoreMode, Stack, Validations } from 'aws-cdk-lib';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';

/*
 * The Dockerfile read the way Docker reads it, and the image simulated without Docker: the
 * build context staged exactly as the CDK stages it for `ContainerImage.fromAsset` (through
 * .dockerignore), the runtime stage's COPY lines applied to a temporary directory, and
 * node_modules made of the packages `npm ci --omit=dev` installs minus the ones the
 * Dockerfile removes. The CLI must then start there as the ENTRYPOINT starts it.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Instruction {
  keyword: string;
  args: string;
  /** The stage (0-based) the instruction belongs to. */
  stage: number;
}

/** Instructions with continuation lines joined and comments dropped (Dockerfile reference, "Format"). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const line of text.split('\n')) {
    // A comment line is dropped, also between continuation lines.
    if (/^\s*#/.test(line)) continue;
    const continued = /\\\s*$/.test(line);
    pending += (pending ? ' ' : '') + line.replace(/\\\s*$/, '').trim();
    if (continued) continue;
    const match = /^(\w+)\s+(.*)$/.exec(pending.trim());
    pending = '';
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ keyword, args: match[2]!.trim(), stage });
  }
  return out;
}

/** COPY's flags, sources and destination. */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: rest.slice(0, -1), dest: rest[rest.length - 1]! };
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const lastStage = Math.max(...dockerfile.map((i) => i.stage));
const runtime = dockerfile.filter((i) => i.stage === lastStage);
const entrypoint = JSON.parse(runtime.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
const cmd = JSON.parse(runtime.find((i) => i.keyword === 'CMD')!.args) as string[];
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  bin: Record<string, string>;
};

/** What a process printed and how it ended. */
function run(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The top-level packages `npm ci --omit=dev` installs: package-lock entries not marked dev. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([path, meta]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !meta.dev)
    .map(([path]) => path.slice('node_modules/'.length))
    .filter((name) => existsSync(join(ROOT, 'node_modules', name)));
}

/** The node_modules paths the dependency stage deletes after npm ci (`rm -rf node_modules/...`). */
function removedPackages(): string[] {
  const runs = dockerfile.filter((i) => i.stage < lastStage && i.keyword === 'RUN').map((i) => i.args);
  return runs
    .flatMap((args) => [...args.matchAll(/rm -rf ([^&;]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)))
    .filter((p) => p.startsWith('node_modules/'))
    .map((p) => p.slice('node_modules/'.length));
}

describe('Dockerfile', () => {
  it('builds and runs on node 22 (bookworm-slim) in every stage', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]!);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const image of froms) expect(image).toMatch(/^node:22(\.\d+)*-bookworm-slim$/);
  });

  it('runs the CLI of this package as a non-root user, with the command left to the service', () => {
    expect(entrypoint).toEqual(['node', '--import', 'tsx', 'lib/cli/main.ts']);
    expect(packageJson.dependencies.tsx).toBeDefined();
    expect(existsSync(join(ROOT, entrypoint[3]!))).toBe(true);
    expect(existsSync(join(ROOT, packageJson.bin.mailroom!))).toBe(true);
    expect(cmd).toEqual(['--help']);
    const user = runtime.filter((i) => i.keyword === 'USER').pop()?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const exposed = runtime.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    for (const port of exposed) expect(Number(port)).toBeGreaterThan(1024);
  });

  it('copies from the repository only paths that exist, and no tests, benchmarks or infrastructure', () => {
    const copies = dockerfile.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args));
    const sources = copies.filter((c) => !c.from).flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    for (const source of sources)
      expect(normalize(source).split('/')[0]).not.toMatch(/^(test|bench|infra|docs)$/);
  });

  it('leaves out of the build context what the brief names (.dockerignore)', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const name of [
      'node_modules',
      '.git',
      'cdk.out',
      '.cache',
      '.mailroom',
      'test',
      'bench',
      'docs',
      'dist',
    ]) {
      expect(ignore).toContain(name);
    }
  });
});

describe('the image, simulated from the build context the CDK stages', () => {
  let work: string;
  let context: string;
  let image: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'mailroom-image-'));
    // GIVEN the context exactly as ContainerImage.fromAsset(ROOT) stages it.
    const app = new App({ outdir: join(work, 'cdk.out') });
    const stack = new Stack(app, 'ImageTest');
    Validations.of(stack).acknowledge({
      id: 'CloudFormation-Validate::F0001',
      reason: 'A stack that only stages the image asset has no resources',
    });
    const asset = new DockerImageAsset(stack, 'Image', {
      directory: ROOT,
      ignoreMode: IgnoreMode.DOCKER,
    });
    app.synth();
    // aws-cdk-lib names the staged directory asset.<hash><extension of the source>: a clone
    // in /tmp/tmp.AbC123 stages into asset.<hash>.AbC123.
    const staged = (await readdir(join(work, 'cdk.out'))).find((name) =>
      name.startsWith(`asset.${asset.assetHash}`),
    );
    context = join(work, 'cdk.out', staged!);

    // WHEN the runtime stage's COPY lines are applied (WORKDIR /app is `image`).
    image = join(work, 'app');
    await mkdir(image);
    for (const instruction of runtime.filter((i) => i.keyword === 'COPY')) {
      const copy = parseCopy(instruction.args);
      if (copy.from) {
        expect(copy.sources).toEqual(['/app/node_modules']);
        continue;
      }
      for (const source of copy.sources) {
        const into = copy.dest.endsWith('/') ? join(image, copy.dest, source) : join(image, copy.dest);
        await mkdir(dirname(into), { recursive: true });
        await cp(join(context, source), into, { recursive: true });
      }
    }
    // AND node_modules holds what the dependency stage leaves.
    const removed = new Set(removedPackages());
    for (const name of productionPackages()) {
      if (removed.has(name) || removed.has(name.split('/')[0]!)) continue;
      await mkdir(dirname(join(image, 'node_modules', name)), { recursive: true });
      await symlink(join(ROOT, 'node_modules', name), join(image, 'node_modules', name), 'dir');
    }
  }, 60_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('holds only what the Dockerfile copies: a test or infra change does not change the asset hash', async () => {
    expect((await readdir(context)).sort()).toEqual(
      [
        '.dockerignore',
        'Dockerfile',
        'bin',
        'functions',
        'lib',
        'package-lock.json',
        'package.json',
        'tsconfig.json',
      ].sort(),
    );
  });

  it('leaves the CDK libraries out of node_modules', () => {
    expect(removedPackages()).toEqual(expect.arrayContaining(['aws-cdk-lib', 'constructs']));
    expect(existsSync(join(image, 'node_modules', 'aws-cdk-lib'))).toBe(false);
    expect(existsSync(join(image, 'node_modules', 'tsx'))).toBe(true);
  });

  it('runs the ENTRYPOINT with its CMD, and `smtp --help` and `access --help`', async () => {
    const [help, ...roles] = await Promise.all([
      run(image, [...entrypoint.slice(1), ...cmd]),
      ...['smtp', 'access'].map((role) => run(image, [...entrypoint.slice(1), role, '--help'])),
    ]);
    expect(help!.stderr).toBe('');
    expect(help!.code).toBe(0);
    expect(help!.stdout).toMatch(/smtp/);
    for (const result of roles) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/health check/);
    }
  }, 60_000);

  it('has the `mailroom` command of the package (bin/mailroom.js)', async () => {
    const result = await run(image, [packageJson.bin.mailroom!, 'access', '--help']);
    expect(result.code, result.stderr).toBe(0);
  }, 60_000);

  it('starts `mailroom smtp` with SIGTERM reaching the ENTRYPOINT process itself, which drains and exits 0', async () => {
    const dataDir = join(work, 'data');
    const child = spawn(process.execPath, [...entrypoint.slice(1), '--json', 'smtp'], {
      cwd: image,
      env: {
        ...process.env,
        MAILROOM_DATA_DIR: dataDir,
        MAILROOM_SMTP_PORT: '0',
        MAILROOM_SUBMISSION_PORT: '0',
        MAILROOM_HEALTH_PORT: '0',
        MAILROOM_LOG_LEVEL: 'warn',
        MAILROOM_DRAIN_SECONDS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('{"ready"'))
          resolve((JSON.parse(line) as { ready: Record<string, unknown> }).ready);
      });
      void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect(ready).toMatchObject({ role: 'smtp', backend: 'local' });
    const health = await fetch(`http://127.0.0.1:${String(ready.health)}/health`);
    expect(health.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
