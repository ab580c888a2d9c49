import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type MailroomApp } from '../../infra/app.js';

/*
 * The Mailroom CDK app built and synthesised in this process (no CLI, no credentials, no
 * Docker: NodejsFunction bundles with the local esbuild). Synthesis runs cdk-nag, so a
 * finding nobody acknowledged fails here already. aws-cdk-lib's own template validation is
 * left out (it costs seconds per process; synth.test.ts runs it, through the CLI and in
 * process). Call it once per test file, in beforeAll; a second app in the same process
 * reuses the bundled Lambda and is quick.
 */

type Json = Record<string, unknown>;

export interface SynthesizedMailroom extends MailroomApp {
  /** The cloud assembly (a temporary directory): templates, the bundled Lambda, the validation report. */
  assembly: ReturnType<MailroomApp['app']['synth']>;
  statefulTemplate: Template;
  serviceTemplate: Template;
  /**
   * What an `Fn::ImportValue` in the service stack reads: the value the stateful stack
   * exports under that name (`{ 'Fn::GetAtt': [logicalId, 'Arn'] }`, `{ Ref: logicalId }`).
   * Anything else is returned as it is.
   */
  imported(value: unknown): unknown;
}

export function synthMailroom(context: Record<string, unknown> = {}): SynthesizedMailroom {
  const built = buildApp(context, { builtinCloudFormationValidation: false });
  const assembly = built.app.synth();
  const statefulTemplate = Template.fromStack(built.stateful);
  const serviceTemplate = Template.fromStack(built.service);
  const outputs = (
    statefulTemplate.toJSON() as { Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }> }
  ).Outputs;
  const exports = new Map(
    Object.values(outputs ?? {})
      .filter((o) => o.Export)
      .map((o) => [o.Export!.Name, o.Value]),
  );
  return {
    ...built,
    assembly,
    statefulTemplate,
    serviceTemplate,
    imported(value) {
      const name = (value as Json | null)?.['Fn::ImportValue'];
      if (typeof name !== 'string') return value;
      if (!exports.has(name)) throw new Error(`no export ${name} in the stateful stack`);
      return exports.get(name);
    },
  };
}

/** The logical id of the one resource of a type in a template (fails if there are none or several). */
export function onlyResource(template: Template, type: string, props: Json = {}): string {
  const found = Object.keys(template.findResources(type, props));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${found.join(', ')}`);
  return found[0]!;
}

export const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });
