// Cloud adapters (SesOutbound in ./ses-outbound.js) are imported by path, so that the
// embedded build never loads the AWS SDK.
export * from './types.js';
export * from './errors.js';
export { SmtpOutbound } from './smtp-outbound.js';
export { CaptureOutbound } from './capture-outbound.js';
