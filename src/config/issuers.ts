/**
 * The `auth.issuers` section, resolved: exactly one key source each (a secret read from its
 * file), algorithms that fit the key, HS secrets long enough, JWKS over https (plain http only on
 * loopback), issuers unique. Every problem is added with its config path.
 */
import { readFileSync } from 'node:fs';
import { DEFAULTS } from './defaults.js';
import { isLoopbackUrl } from './hosts.js';
import type { IssuerConfig } from './types.js';

/** An issuer as written (after schema validation). */
export type RawIssuer = Omit<IssuerConfig, 'secret'> & { secret?: string; secretFile?: string };

export function resolveIssuers(
  raw: readonly RawIssuer[],
  abs: (p: string) => string,
  problems: string[],
): IssuerConfig[] {
  const issuers = raw.map((iss, i) => resolveIssuer(iss, i, abs, problems));
  const seen = new Set<string>();
  raw.forEach((iss, i) => {
    if (seen.has(iss.issuer)) problems.push(`/auth/issuers/${i}/issuer: duplicate issuer ${iss.issuer}`);
    seen.add(iss.issuer);
  });
  return issuers;
}

function resolveIssuer(iss: RawIssuer, i: number, abs: (p: string) => string, problems: string[]): IssuerConfig {
  const at = `/auth/issuers/${i}`;
  const sources = [iss.secret, iss.secretFile, iss.jwksUri, iss.jwksFile].filter((v) => v !== undefined);
  if (sources.length !== 1) problems.push(`${at}: exactly one of secret, secretFile, jwksUri, jwksFile is required`);
  let secret = iss.secret;
  if (iss.secretFile !== undefined) {
    try {
      secret = readFileSync(abs(iss.secretFile), 'utf8').trim();
    } catch {
      problems.push(`${at}/secretFile: cannot read ${iss.secretFile}`);
    }
  }
  const hs = iss.algorithms.filter((a) => a.startsWith('HS'));
  if (secret !== undefined) {
    if (hs.length !== iss.algorithms.length)
      problems.push(`${at}/algorithms: a secret issuer allows only HS algorithms`);
    if (Buffer.byteLength(secret, 'utf8') < DEFAULTS.auth.minSecretBytes)
      problems.push(`${at}/secret: HS secrets must be at least ${DEFAULTS.auth.minSecretBytes} bytes`);
  } else if (hs.length > 0) {
    problems.push(`${at}/algorithms: HS algorithms need a secret; a key set issuer allows only asymmetric algorithms`);
  }
  if (iss.jwksUri !== undefined && iss.jwksUri.startsWith('http://') && !isLoopbackUrl(iss.jwksUri)) {
    problems.push(`${at}/jwksUri: must be https (plain http only on loopback)`);
  }
  return {
    issuer: iss.issuer,
    algorithms: iss.algorithms,
    ...(secret !== undefined && { secret }),
    ...(iss.jwksUri !== undefined && { jwksUri: iss.jwksUri }),
    ...(iss.jwksFile !== undefined && { jwksFile: abs(iss.jwksFile) }),
    ...(iss.typ !== undefined && { typ: iss.typ }),
    ...(iss.tenants !== undefined && { tenants: iss.tenants }),
  };
}
