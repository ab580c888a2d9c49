/** A positive whole-number option of a benchmark; anything else prints the usage and exits with 2. */
export function positiveInt(
  usage: string,
  name: string,
  value: string | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, got ${JSON.stringify(value)}\n${usage}\n`);
    process.exit(2);
  }
  return n;
}
