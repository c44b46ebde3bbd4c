/**
 * Token verification: a plain function over a token string, no HTTP (STYLE 4).
 *
 * Order (SEC-AUTH-02/04/12): cheap structural checks → pick the issuer by the (unverified) `iss`
 * → verify the signature with that issuer's keys and algorithms only → registered claims
 * (`exp`, `iat`, `nbf`, `aud`, `typ`) → a strict schema over the identity claims.
 * Every failure, including jose's plain `TypeError`s, is a value, never a throw (SEC-AUTH-06).
 *
 * Verified tokens are cached (see TokenCache) because signature verification dominates the
 * per-request cost; an entry is never served past the token's `exp`.
 */
import { errors as joseErrors, jwtVerify, decodeProtectedHeader } from 'jose';
import type { JWTPayload } from 'jose';
import type { AuthConfig } from '../config/types.js';
import { CLAIM_ID_PATTERN } from '../config/defaults.js';
import { principalKey } from './principal.js';
import type { Principal } from './principal.js';
import type { IssuerEntry } from './keys.js';
import { TokenCache } from './cache.js';
import { hasDuplicateMembers } from './duplicateMembers.js';
import type { Denylist } from './denylist.js';

export type VerifyResult =
  | { ok: true; principal: Principal }
  /** `unavailable`: keys could not be obtained; the caller answers 503 (RC-5), never allows. */
  | { ok: false; kind: 'invalid' | 'unavailable'; reason: string };

export interface Verifier {
  verify(token: string): Promise<VerifyResult>;
}

export interface VerifierOptions {
  auth: AuthConfig;
  issuers: ReadonlyMap<string, IssuerEntry>;
  /** Milliseconds since the epoch; tests set the clock. */
  now?: () => number;
  /** Revoked tokens and users, checked on every request, cached tokens included (SEC-AUTH-13). */
  denylist?: Denylist;
}

const fail = (reason: string): VerifyResult => ({ ok: false, kind: 'invalid', reason });

export function createVerifier(opts: VerifierOptions): Verifier {
  const { auth, issuers } = opts;
  const now = opts.now ?? Date.now;
  const cache = new TokenCache(auth.tokenCacheSize);
  const audiences = new Set(auth.audiences.map(normaliseAudience));
  const knownRoles = auth.roles.length > 0 ? new Set(auth.roles) : undefined;

  async function verifyUncached(token: string): Promise<VerifyResult> {
    const parts = token.split('.');
    if (parts.length !== 3) return fail('malformed_jwt');
    let iss: unknown;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = (JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown } | null)?.iss;
    } catch {
      return fail('malformed_jwt');
    }
    if (typeof iss !== 'string') return fail('missing_iss');
    const entry = issuers.get(iss);
    if (!entry) return fail('unknown_issuer');
    if (typeof alg !== 'string' || !entry.config.algorithms.includes(alg)) return fail('alg_not_allowed');

    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [...entry.config.algorithms],
        issuer: entry.config.issuer,
        requiredClaims: ['exp', 'iat', 'aud'],
        maxTokenAge: auth.maxTokenAgeSec,
        clockTolerance: auth.clockToleranceSec,
        currentDate: new Date(now()),
        ...(entry.config.typ !== undefined && { typ: entry.config.typ }),
      };
      const result =
        entry.key instanceof Uint8Array
          ? await jwtVerify(token, entry.key, options)
          : await jwtVerify(token, entry.key, options);
      payload = result.payload;
    } catch (err) {
      return classifyJoseError(err);
    }
    // J-32: a repeated member name would mean one thing here and maybe another elsewhere.
    const [header = '', body = ''] = parts.slice(0, 2).map((p) => Buffer.from(p, 'base64url').toString('utf8'));
    if (hasDuplicateMembers(header) || hasDuplicateMembers(body)) return fail('duplicate_member');

    if (!audienceAccepted(payload.aud, audiences, auth.strictAudience)) return fail('audience_mismatch');
    const mapped = mapClaims(payload, auth, entry, knownRoles);
    if (!mapped.ok) return mapped;
    return mapped;
  }

  return {
    async verify(token: string): Promise<VerifyResult> {
      const t = now();
      const cached = cache.get(token, t);
      const result: VerifyResult = cached ? { ok: true, principal: cached } : await verifyUncached(token);
      if (!result.ok) return result;
      if (!cached) cache.set(token, result.principal, t);
      const revoked = opts.denylist?.revoked(result.principal);
      return revoked === undefined ? result : fail(`revoked_${revoked}`);
    },
  };
}

function classifyJoseError(err: unknown): VerifyResult {
  if (err instanceof joseErrors.JWKSTimeout) return { ok: false, kind: 'unavailable', reason: 'jwks_timeout' };
  if (err instanceof joseErrors.JOSEError) {
    // A JWKS that could not be fetched or parsed (network error, non-200, not JSON) cannot decide.
    if (err.code === 'ERR_JWKS_INVALID' || err.code === 'ERR_JOSE_GENERIC') {
      return { ok: false, kind: 'unavailable', reason: `jwks_${err.code}` };
    }
    return fail(err.code.toLowerCase());
  }
  if (err instanceof TypeError && /fetch|network|ECONNREFUSED|socket/i.test(err.message)) {
    return { ok: false, kind: 'unavailable', reason: 'jwks_unreachable' };
  }
  // jose throws plain TypeErrors for key/alg mismatches (J-03, J-06): still an invalid token.
  return fail('verification_error');
}

/** Scheme and host compare case-insensitively, the rest byte-exact (SEC-AUTH-03). */
export function normaliseAudience(aud: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(aud);
  return m ? `${(m[1] ?? '').toLowerCase()}${(m[2] ?? '').toLowerCase()}${m[3] ?? ''}` : aud;
}

function audienceAccepted(aud: unknown, accepted: ReadonlySet<string>, strict: boolean): boolean {
  const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (!list || list.length === 0 || !list.every((a): a is string => typeof a === 'string')) return false;
  const hits = list.filter((a) => accepted.has(normaliseAudience(a))).length;
  return strict ? hits === list.length : hits > 0;
}

function mapClaims(
  payload: JWTPayload,
  auth: AuthConfig,
  entry: IssuerEntry,
  knownRoles: ReadonlySet<string> | undefined,
): VerifyResult {
  const user = payload[auth.claims.user];
  const tenant = payload[auth.claims.tenant];
  const roles = payload[auth.claims.roles];
  const scope = payload[auth.claims.scopes];
  if (typeof user !== 'string' || !CLAIM_ID_PATTERN.test(user)) return fail('bad_user_claim');
  if (typeof tenant !== 'string' || !CLAIM_ID_PATTERN.test(tenant)) return fail('bad_tenant_claim');
  if (entry.config.tenants && !entry.config.tenants.includes(tenant)) return fail('tenant_not_allowed_for_issuer');
  let roleList: string[] = [];
  if (roles !== undefined) {
    if (
      !Array.isArray(roles) ||
      roles.length > 64 ||
      !roles.every((r) => typeof r === 'string' && CLAIM_ID_PATTERN.test(r))
    ) {
      return fail('bad_roles_claim');
    }
    roleList = (roles as string[]).filter((r) => !knownRoles || knownRoles.has(r));
  }
  let scopes = new Set<string>();
  if (scope !== undefined) {
    if (typeof scope !== 'string' || scope.length > 4096) return fail('bad_scope_claim');
    scopes = new Set(scope.split(' ').filter((s) => s.length > 0));
  }
  const issuer = entry.config.issuer;
  const principal: Principal = Object.freeze({
    issuer,
    user,
    tenant,
    roles: Object.freeze(roleList),
    scopes,
    expiresAt: payload.exp ?? 0,
    tokenId: typeof payload.jti === 'string' ? payload.jti : undefined,
    issuedAt: payload.iat,
    key: principalKey(issuer, user, tenant),
  });
  return { ok: true, principal };
}
