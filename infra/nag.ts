import { Validations, type App } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';

/*
 * cdk-nag's AWS Solutions checks on the whole app. cdk-nag 3 is a CDK policy-validation
 * plugin (not an Aspect): a violation, error or warning, that nobody acknowledged makes
 * `app.synth()` throw and `cdk synth` fail, with the report in the cloud assembly
 * (policy-validation-report.json). An acknowledgement is cdk-nag 3's suppression
 * (`Validations.of(construct).acknowledge`); each one sits next to the resource it is
 * about and says why.
 */

/** Registers the AWS Solutions pack on the app; call once, after the stacks exist or before. */
export function applyNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/**
 * Acknowledges one cdk-nag finding on a construct (and everything under it). `rule` is the
 * finding id as cdk-nag reports it: `AwsSolutions-S1`, or `AwsSolutions-IAM5[Resource::...]`
 * for one finding of a rule that reports several. The reason is the justification an
 * auditor reads; a placeholder is refused.
 */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  if (!/^AwsSolutions-[A-Z0-9]+(\[.+\])?$/.test(rule)) {
    throw new Error(`not a cdk-nag AwsSolutions finding id: ${rule}`);
  }
  if (reason.trim().length < 40 || /^(not needed|n\/a|none|todo)\b/i.test(reason.trim())) {
    throw new Error(`the acknowledgement of ${rule} needs a real reason, got ${JSON.stringify(reason)}`);
  }
  Validations.of(scope).acknowledge({ id: rule, reason });
}

export type NagViolation = ReturnType<AwsSolutionsChecks['validateScope']>['violations'][number];

/**
 * What the AWS Solutions pack finds in a construct tree, acknowledged findings left out:
 * the check synthesis runs, as a list (tests show which rule broke, rather than only that
 * synth threw). Run it after `app.synth()` to see what synthesis saw: before, a reference
 * to another stack still reads `<LogicalId.Arn>`; after, it is the stack export it became.
 */
export function nagViolations(scope: IConstruct): NagViolation[] {
  return new AwsSolutionsChecks().validateScope(scope).violations;
}
