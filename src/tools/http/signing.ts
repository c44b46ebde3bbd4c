/**
 * The gateway's own signing key for upstream credentials (SEC-UP-02): a private JWK in
 * `upstreamSigning.keyFile` (default `${dataDir}/upstream-signing-key.json`), generated on first
 * start with mode 0600 in a 0700 directory, never derived from anything a client sends. Its
 * public half is published at `/.well-known/jwks.json`, which is how an upstream verifies the
 * short-lived JWTs the gateway mints for it.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import type { UpstreamSigningConfig } from '../../config/types.js';
import { writeKeyFileOnce } from '../../auth/keyFile.js';
import { ErrorCodes, PortcullisError } from '../../errors.js';

/** Path of the published key set. */
export const JWKS_PATH = '/.well-known/jwks.json';

export interface UpstreamSigner {
  readonly issuer: string;
  readonly kid: string;
  /** `{ keys: [public JWK] }`, as served at JWKS_PATH. */
  readonly jwks: { readonly keys: readonly JWK[] };
  /** Signs `claims` for one upstream: `iss`, `aud`, `iat`, `exp` and a random `jti` are added. */
  sign(claims: Record<string, unknown>, audience: string, ttlSec: number): Promise<string>;
}

const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
  RSA: ['kty', 'n', 'e'],
};

/**
 * Loads the signing key, generating it first when the file does not exist. With `persist: false`
 * (validation only) nothing is written: a missing key is generated in memory and a loose file
 * mode is only reported.
 */
export async function loadOrCreateSigner(
  config: UpstreamSigningConfig,
  warn: (message: string) => void = () => {},
  opts: { persist?: boolean } = {},
): Promise<UpstreamSigner> {
  const file = config.keyFile;
  const persist = opts.persist ?? true;
  try {
    let jwk: JWK;
    if (!exists(file) && !persist) {
      jwk = await newKey(config.algorithm);
    } else {
      if (!exists(file)) await generate(file, config.algorithm);
      const stat = lstatSync(file);
      if (!stat.isFile()) throw keyError(`${file} is not a regular file`);
      if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
        if (persist) chmodSync(file, 0o600);
        warn(
          `${file} was readable by others${persist ? '; changed to 0600' : ''}. Delete it to rotate the upstream signing key.`,
        );
      }
      jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    }
    if (jwk.alg !== config.algorithm || typeof jwk.kty !== 'string' || !PUBLIC_MEMBERS[jwk.kty]) {
      throw keyError(
        `${file} does not hold a ${config.algorithm} private key; delete it to generate a new one, or set upstreamSigning.algorithm to match`,
      );
    }
    const key = (await importJWK(jwk, config.algorithm)) as CryptoKey;
    const members = PUBLIC_MEMBERS[jwk.kty] ?? [];
    const pub = Object.fromEntries(members.map((m) => [m, (jwk as Record<string, unknown>)[m]])) as JWK;
    const kid = await calculateJwkThumbprint(pub);
    const published: JWK = { ...pub, kid, alg: config.algorithm, use: 'sig' };
    return {
      issuer: config.issuer,
      kid,
      jwks: Object.freeze({ keys: Object.freeze([Object.freeze(published)]) }),
      sign: (claims, audience, ttlSec) => {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT(claims)
          .setProtectedHeader({ alg: config.algorithm, kid, typ: 'JWT' })
          .setIssuer(config.issuer)
          .setAudience(audience)
          .setIssuedAt(now)
          .setExpirationTime(now + ttlSec)
          .setJti(randomUUID())
          .sign(key);
      },
    };
  } catch (err) {
    if (err instanceof PortcullisError) throw err;
    throw keyError(`cannot load the upstream signing key ${file}: ${(err as Error).message}`, err);
  }
}

/** Generates the key and writes it once (0600, never half-written). */
async function generate(file: string, alg: UpstreamSigningConfig['algorithm']): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const jwk = await newKey(alg);
  // Another gateway sharing the data directory may create it first: then theirs is used.
  writeKeyFileOnce(file, `${JSON.stringify(jwk)}\n`);
}

async function newKey(alg: UpstreamSigningConfig['algorithm']): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' && { modulusLength: 3072 }),
  });
  return { ...(await exportJWK(privateKey)), alg };
}

function exists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function keyError(message: string, cause?: unknown): PortcullisError {
  return new PortcullisError(ErrorCodes.KEY_LOAD, message, [], cause === undefined ? undefined : { cause });
}
