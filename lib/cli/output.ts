/** Prints for people (aligned columns) or for scripts (--json), never both. */
export interface Output {
  json: boolean;
  /** A result: the value as JSON, or the human text. */
  result(value: unknown, human: () => string): void;
  /** A table of rows: JSON array, or aligned columns. */
  table<T extends object>(rows: T[], columns: (keyof T & string)[], empty: string): void;
}

export function createOutput(
  json: boolean,
  write: (text: string) => void = (t) => process.stdout.write(t),
): Output {
  return {
    json,
    result(value, human) {
      write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
    },
    table(rows, columns, empty) {
      if (json) return write(JSON.stringify(rows, null, 2) + '\n');
      if (rows.length === 0) return write(empty + '\n');
      const cells = rows.map((row) => columns.map((c) => format((row as Record<string, unknown>)[c])));
      const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
      const line = (values: string[]) =>
        values
          .map((v, i) => v.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      write([line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n') + '\n');
    },
  };
}

function format(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
