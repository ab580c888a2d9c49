/** Address helpers shared by the ingress, routing and the CLI. */

/** Splits at the last "@"; undefined when there is no local part or no domain. */
export function splitAddress(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * The form addresses are compared in: local parts are compared case-insensitively (as
 * users expect, though RFC 5321 §2.4 leaves it to the receiver) and domains always are.
 */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** `user+tag@domain` → { base: `user@domain`, tag }; undefined when there is no tag. */
export function splitPlus(address: string): { base: string; tag: string } | undefined {
  const parts = splitAddress(address);
  if (!parts) return undefined;
  const plus = parts.local.indexOf('+');
  if (plus <= 0 || plus === parts.local.length - 1) return undefined;
  return { base: `${parts.local.slice(0, plus)}@${parts.domain}`, tag: parts.local.slice(plus + 1) };
}
