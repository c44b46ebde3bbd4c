/**
 * `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9728 §5.1, MCP authorization "Error Handling").
 * Values are quoted with `\` and `"` escaped and non-printables removed, so nothing a client
 * sent can break the header (SEC-OUT-02).
 */

export type ChallengeKind = 'missing' | 'invalid_token' | 'invalid_request' | 'insufficient_scope';

export function quoteHeaderValue(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export interface ChallengeOptions {
  resourceMetadataUrl: string;
  /** Scopes to advertise (RC-1: the baseline; RC-4: every scope the operation needs). */
  scopes?: readonly string[];
}

const DESCRIPTIONS: Record<Exclude<ChallengeKind, 'missing'>, string> = {
  invalid_token: 'The access token is missing, invalid or expired',
  invalid_request: 'The request carries malformed credentials',
  insufficient_scope: 'The access token lacks a scope this operation needs',
};

export function buildChallenge(kind: ChallengeKind, opts: ChallengeOptions): string {
  const parts: string[] = [];
  // RFC 6750 §3: no error code when the request carried no credentials.
  if (kind !== 'missing') {
    parts.push(`error=${quoteHeaderValue(kind)}`, `error_description=${quoteHeaderValue(DESCRIPTIONS[kind])}`);
  }
  if (opts.scopes && opts.scopes.length > 0 && (kind === 'missing' || kind === 'insufficient_scope')) {
    parts.push(`scope=${quoteHeaderValue(opts.scopes.join(' '))}`);
  }
  parts.push(`resource_metadata=${quoteHeaderValue(opts.resourceMetadataUrl)}`);
  return `Bearer ${parts.join(', ')}`;
}
