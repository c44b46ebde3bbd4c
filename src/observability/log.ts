/**
 * Structured JSON logs (pino). Tokens, `Authorization` headers and session ids are never logged
 * (SEC-AUTH-15, SEC-AUD-02): the redaction paths below catch them if a caller ever passes them.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'portcullis' },
      redact: {
        paths: ['token', 'authorization', 'headers.authorization', 'req.headers.authorization', 'sessionId', '*.token'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
