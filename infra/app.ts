// The CDK app that cdk.json runs. The AWS stacks (storage, ingress, ingest, access) arrive
// with the AWS backend issue; until then the app synthesises nothing, so that the layout
// DESIGN.md promises exists and `cdk synth` has a stable entry point.
export const stacks: string[] = [];
