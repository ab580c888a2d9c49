import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';
import { nagViolations } from '../../infra/nag.js';

/*
 * The whole app passes cdk-nag's AWS Solutions checks, in this process and through the
 * CDK CLI exactly as a developer runs it (`npx cdk synth`), offline and without AWS
 * credentials. cdk-nag 3 is a policy-validation plugin: what it finds is not an
 * annotation but makes synthesis fail, which the last test of the first group proves.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the app in process', () => {
  it('synthesises, cdk-nag included, with no finding, error or warning on either stack', () => {
    // GIVEN (aws-cdk-lib's own template validation is the CLI test's: seconds saved here)
    const { app, stateful, service } = buildApp({}, { builtinCloudFormationValidation: false });
    // WHEN
    const assembly = app.synth();
    // THEN
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['Mailroom', 'MailroomData']);
    expect(
      nagViolations(app).map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    for (const stack of [stateful, service]) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue()), stack.stackName).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue()), stack.stackName).toEqual([]);
    }
  });

  it('fails synthesis on a finding nobody acknowledged', () => {
    // GIVEN a bucket without access logs
    const { app, service } = buildApp({}, { builtinCloudFormationValidation: false });
    new s3.Bucket(service, 'Unlogged', { enforceSSL: true });
    // THEN
    // (Findings acknowledged only at synthesis, by a validation hook, are listed here too.)
    expect(nagViolations(app).filter((v) => v.ruleName === 'AwsSolutions-S1')).toHaveLength(1);
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});

describe('cdk synth', () => {
  let outdir: string;
  let result: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'mailroom-cdk-'));
    // No credentials, no region, no metadata service: what CI and a fresh clone have.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(AWS_|CDK_|MAILROOM_)/.test(key)),
    );
    result = await spawnCollect('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
      cwd: ROOT,
      env: {
        ...env,
        npm_config_update_notifier: 'false',
        CDK_DISABLE_VERSION_CHECK: '1',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(outdir, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-aws-credentials'),
      },
      timeoutMs: 120_000,
    });
  }, 130_000);

  afterAll(async () => {
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('succeeds offline, without credentials', () => {
    // THEN
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(existsSync(join(outdir, 'MailroomData.template.json'))).toBe(true);
    expect(existsSync(join(outdir, 'Mailroom.template.json'))).toBe(true);
  });

  it('reports no cdk-nag finding', async () => {
    // THEN
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/AwsSolutions-/);
    const report = JSON.parse(await readFile(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });
});

/** Runs a command in a process group of its own, so a timeout ends it and all it started. */
function spawnCollect(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
      reject(
        new Error(`${command} ${args.join(' ')} timed out after ${options.timeoutMs} ms; stderr: ${stderr}`),
      );
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
