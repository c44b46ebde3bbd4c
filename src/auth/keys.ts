/**
 * Verification keys, pinned per issuer (SEC-AUTH-04/12): an HS secret, a remote JWKS
 * (jose's fetcher: timeout, cooldown, no redirects, 200 only) or a local JWKS file.
 * `jku`, `x5u`, `x5c` and embedded `jwk` headers are never consulted.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet } from 'jose';
import type { JWTVerifyGetKey, RemoteJWKSet } from 'jose';
import type { IssuerConfig } from '../config/types.js';
import { ErrorCodes, PortcullisError } from '../errors.js';

export type IssuerKey = Uint8Array | JWTVerifyGetKey;

export interface IssuerEntry {
  readonly config: IssuerConfig;
  readonly key: IssuerKey;
  /** For a JWKS URL issuer: the remote key set, to warm it at start and report readiness. */
  readonly remote?: RemoteJWKSet;
}

/** Builds the issuer table once at start. A key file that cannot be read stops the start. */
export function buildIssuerTable(issuers: readonly IssuerConfig[]): ReadonlyMap<string, IssuerEntry> {
  const table = new Map<string, IssuerEntry>();
  for (const config of issuers) {
    if (config.jwksUri !== undefined) {
      const remote = createRemoteJWKSet(new URL(config.jwksUri), { timeoutDuration: 3000, cooldownDuration: 30_000 });
      table.set(config.issuer, { config, key: remote, remote });
    } else {
      table.set(config.issuer, { config, key: loadKey(config) });
    }
  }
  return table;
}

/**
 * Fetches every remote key set once (at start), so the first requests do not wait for it and
 * readiness can tell whether keys are there. Failures are reported, not thrown: verification
 * retries on its own and fails closed meanwhile.
 */
export async function warmKeys(
  issuers: ReadonlyMap<string, IssuerEntry>,
  onError: (issuer: string, err: unknown) => void,
): Promise<void> {
  await Promise.all(
    [...issuers.values()].map(async (e) => {
      if (!e.remote) return;
      try {
        await e.remote.reload();
      } catch (err) {
        onError(e.config.issuer, err);
      }
    }),
  );
}

/** True when every issuer has keys in hand: secrets and files always, remote sets once fetched. */
export function keysLoaded(issuers: ReadonlyMap<string, IssuerEntry>): boolean {
  for (const e of issuers.values()) if (e.remote && e.remote.jwks() === undefined) return false;
  return issuers.size > 0;
}

function loadKey(config: IssuerConfig): IssuerKey {
  if (config.secret !== undefined) return new TextEncoder().encode(config.secret);
  if (config.jwksFile !== undefined) {
    try {
      const jwks: unknown = JSON.parse(readFileSync(config.jwksFile, 'utf8'));
      if (jwks === null || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys)) {
        throw new Error('not a JWK Set');
      }
      return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    } catch (err) {
      throw new PortcullisError(
        ErrorCodes.KEY_LOAD,
        `cannot load JWKS file for issuer ${config.issuer}`,
        [String(err)],
        {
          cause: err,
        },
      );
    }
  }
  throw new PortcullisError(ErrorCodes.KEY_LOAD, `issuer ${config.issuer} has no key source`);
}
