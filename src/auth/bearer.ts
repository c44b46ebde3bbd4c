/**
 * Extracts the bearer token from a request, strictly (RFC 6750 §2.1, SEC-AUTH-08/09):
 * exactly one `Authorization` header, scheme `Bearer` (case-insensitive), one space, a token68.
 * Tokens in the query string are never accepted; a token in the query next to a header is malformed.
 */
import type { IncomingMessage } from 'node:http';

export type BearerResult =
  | { kind: 'token'; token: string }
  /** No credentials at all (RC-1). */
  | { kind: 'none' }
  /** Credentials present but malformed (RC-3). */
  | { kind: 'malformed'; reason: string }
  /** Over the configured cap: answered as an invalid token without decoding (RC-2). */
  | { kind: 'too_long' };

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export function extractBearer(req: IncomingMessage, rawQuery: string, maxTokenBytes: number): BearerResult {
  const values = req.headersDistinct.authorization;
  const inQuery = rawQuery.length > 0 && /(?:^|&)access_token=/.test(rawQuery);
  if (values === undefined || values.length === 0) return { kind: 'none' };
  if (values.length > 1) return { kind: 'malformed', reason: 'duplicate_authorization_header' };
  if (inQuery) return { kind: 'malformed', reason: 'token_in_query_and_header' };
  const value = values[0] ?? '';
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  // Another scheme (Basic, `Bearer-invalid`) means "no bearer credentials" (RC-1), as Envoy does.
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'none' };
  const token = space === -1 ? '' : value.slice(space + 1);
  if (token.length > maxTokenBytes) return { kind: 'too_long' };
  if (!TOKEN68.test(token)) return { kind: 'malformed', reason: 'malformed_bearer' };
  return { kind: 'token', token };
}
