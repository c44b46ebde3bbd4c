/**
 * Structured JSON logs (pino). Tokens, `Authorization` headers and session ids are never logged
 * (SEC-AUTH-15, SEC-AUD-02): the redaction paths below catch them if a caller ever passes them.
 * Each line is one record whose text holds no control, line-separator or bidi character
 * (SEC-AUD-03, O-06): what JSON leaves raw is written as a `\uXXXX` escape.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { escapeLogString } from '../audit/escape.js';

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
      hooks: { streamWrite: escapeLine },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A serialised record, its final newline kept: the escapes decode to the same JSON value. */
function escapeLine(line: string): string {
  return line.endsWith('\n') ? `${escapeLogString(line.slice(0, -1), Infinity)}\n` : escapeLogString(line, Infinity);
}
