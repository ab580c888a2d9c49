/** Bad input from the command line: printed as one clear line, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_USAGE = 2;
