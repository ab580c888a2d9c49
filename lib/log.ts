import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines (pino) when the output is a file or a pipe; the same records made readable
 * when a person watches a terminal. Secrets never reach a log: the redact list is the
 * last line of defence, callers do not log them in the first place.
 */
export function createLogger(
  options: { level?: string; pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = options.level ?? 'info';
  const redact = {
    paths: ['password', '*.password', 'pass', '*.pass', 'secret', '*.secret'],
    censor: '[redacted]',
  };
  if (options.pretty ?? (process.stdout.isTTY && !options.destination)) {
    return pino({
      level,
      redact,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(
    { level, redact },
    (options.destination as pino.DestinationStream | undefined) ?? process.stdout,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
