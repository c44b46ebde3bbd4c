/**
 * The principal: who is calling, built only from verified token claims (SEC-AUTH-11).
 * Nothing in a request body, header or `_meta` can change it.
 */
export interface Principal {
  /** The token's `iss`, exactly as verified. */
  readonly issuer: string;
  /** The user id (`sub` by default). */
  readonly user: string;
  /** The tenant / organisation id (`org_id` by default). */
  readonly tenant: string;
  readonly roles: readonly string[];
  readonly scopes: ReadonlySet<string>;
  /** Token expiry, seconds since the epoch. */
  readonly expiresAt: number;
  /** The token's `jti` and `iat`, for revocation (auth/denylist.ts). */
  readonly tokenId?: string | undefined;
  readonly issuedAt?: number | undefined;
  /**
   * Unambiguous identity key `(iss, sub, tenant)`, length-prefixed so that no two
   * different triples can compose to the same string (SEC-SES-02). Sessions and
   * rate limits key on this, never on token bytes.
   */
  readonly key: string;
}

export function principalKey(issuer: string, user: string, tenant: string): string {
  return `${issuer.length}:${issuer}|${user.length}:${user}|${tenant.length}:${tenant}`;
}
