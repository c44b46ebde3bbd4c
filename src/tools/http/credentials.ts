/**
 * Upstream credentials (SEC-UP-01, SEC-UP-02). The client's token never leaves the gateway: the
 * gateway does not even keep it (a Principal holds only verified claims). Each upstream gets a
 * credential the gateway holds itself:
 *   - `gatewayJwt`: a short-lived JWT signed with the gateway's key, `aud` = that upstream,
 *     carrying the caller (user, tenant, roles, scopes) and the request id;
 *   - `apiKey`: a static header whose value comes from the environment;
 *   - `oauthClientCredentials`: an access token from the upstream's authorization server
 *     (RFC 6749 §4.4, client_secret_basic), cached until shortly before it expires.
 * Identity headers (`X-Portcullis-*`) are optional and added before the credential.
 */
import { Buffer } from 'node:buffer';
import type { Agent } from 'undici';
import { request } from 'undici';
import type { Principal } from '../../auth/principal.js';
import type { UpstreamAuthConfig, UpstreamConfig } from '../../config/types.js';
import { HEADER_VALUE } from './config.js';
import { readCapped } from './body.js';
import type { UpstreamSigner } from './signing.js';

/** A failure to obtain a credential; the call fails with this reason (never the detail). */
export class CredentialUnavailable extends Error {
  override readonly name = 'CredentialUnavailable';
  readonly reason = 'upstream_credentials_unavailable';
}

export interface ClaimNames {
  readonly tenant: string;
  readonly roles: string;
  readonly scopes: string;
}

export interface CallIdentity {
  readonly principal: Principal;
  readonly requestId: string;
  readonly signal: AbortSignal;
}

export type CredentialSource = (call: CallIdentity) => Promise<Record<string, string>>;

const TOKEN_RESPONSE_LIMIT = 64 * 1024;
/** Refresh a cached client-credentials token this long before it expires. */
const REFRESH_MARGIN_SEC = 30;
const DEFAULT_TOKEN_TTL_SEC = 300;

/** The headers identifying the caller, when the upstream wants them. */
export function identityHeaders(call: CallIdentity): Record<string, string> {
  const p = call.principal;
  const roles = p.roles.filter((r) => HEADER_VALUE.test(r) && !r.includes(','));
  return {
    'x-portcullis-user': safe(p.user),
    'x-portcullis-tenant': safe(p.tenant),
    'x-portcullis-roles': roles.join(','),
    'x-portcullis-request-id': safe(call.requestId),
  };
}

function safe(v: string): string {
  return HEADER_VALUE.test(v) ? v : encodeURIComponent(v);
}

export interface CredentialDeps {
  readonly signer?: UpstreamSigner;
  readonly claims: ClaimNames;
  /** Agent for the token endpoint (same egress policy as the upstream). */
  readonly tokenAgent?: Agent;
  readonly now?: () => number;
}

/** The credential source of one upstream (no credential: no headers). */
export function createCredentialSource(upstream: UpstreamConfig, deps: CredentialDeps): CredentialSource {
  const auth = upstream.auth;
  if (!auth) return () => Promise.resolve({});
  switch (auth.kind) {
    case 'gatewayJwt':
      return gatewayJwt(auth, deps);
    case 'apiKey': {
      const headers = { [auth.header]: auth.value };
      return () => Promise.resolve(headers);
    }
    case 'oauthClientCredentials':
      return clientCredentials(auth, upstream, deps);
  }
}

function gatewayJwt(auth: Extract<UpstreamAuthConfig, { kind: 'gatewayJwt' }>, deps: CredentialDeps): CredentialSource {
  const { signer, claims } = deps;
  if (!signer) throw new Error('gatewayJwt needs the upstream signing key');
  return async ({ principal, requestId }) => {
    const scopes = [...principal.scopes];
    const jwt = await signer.sign(
      {
        sub: principal.user,
        [claims.tenant]: principal.tenant,
        [claims.roles]: [...principal.roles],
        ...(scopes.length > 0 && { [claims.scopes]: scopes.join(' ') }),
        req: requestId,
      },
      auth.audience,
      auth.ttlSec,
    );
    return { authorization: `Bearer ${jwt}` };
  };
}

function clientCredentials(
  auth: Extract<UpstreamAuthConfig, { kind: 'oauthClientCredentials' }>,
  upstream: UpstreamConfig,
  deps: CredentialDeps,
): CredentialSource {
  const now = deps.now ?? Date.now;
  let cached: { header: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString(
    'base64',
  );

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope !== undefined) form.set('scope', auth.scope);
    if (auth.audience !== undefined) form.set('audience', auth.audience);
    try {
      const res = await request(auth.tokenUrl, {
        method: 'POST',
        ...(deps.tokenAgent && { dispatcher: deps.tokenAgent }),
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'accept-encoding': 'identity',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(upstream.timeoutMs),
      });
      const raw = await readCapped(res.body, TOKEN_RESPONSE_LIMIT);
      const text = raw?.toString('utf8');
      if (res.statusCode !== 200 || text === undefined) throw new CredentialUnavailable('token endpoint refused');
      const body = JSON.parse(text) as Record<string, unknown>;
      const token = body.access_token;
      const type = typeof body.token_type === 'string' ? body.token_type.toLowerCase() : 'bearer';
      if (typeof token !== 'string' || !HEADER_VALUE.test(token) || token === '' || type !== 'bearer') {
        throw new CredentialUnavailable('token endpoint answered without a bearer token');
      }
      const ttl =
        typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0
          ? body.expires_in
          : DEFAULT_TOKEN_TTL_SEC;
      const header = `Bearer ${token}`;
      const margin = Math.min(REFRESH_MARGIN_SEC, ttl / 2);
      cached = { header, refreshAt: now() + (ttl - margin) * 1000 };
      return header;
    } catch (err) {
      if (err instanceof CredentialUnavailable) throw err;
      throw new CredentialUnavailable('token request failed', { cause: err });
    }
  }

  return async () => {
    if (cached && now() < cached.refreshAt) return { authorization: cached.header };
    // One token request at a time; concurrent calls share it.
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined;
    });
    return { authorization: await inFlight };
  };
}
