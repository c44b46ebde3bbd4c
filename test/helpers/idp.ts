/**
 * A test identity provider: asymmetric keys (RS256, ES256, EdDSA) served as a JWKS from a real
 * loopback HTTP endpoint that counts its hits, and a signer for tokens with any claims/header.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';

export type Alg = 'RS256' | 'ES256' | 'EdDSA';

export interface TestIdp {
  issuer: string;
  jwksUri: string;
  hits(): number;
  /** Replace the JWKS answer (status, body) to simulate outages. */
  setResponse(status: number, body: string): void;
  sign(alg: Alg, claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startIdp(): Promise<TestIdp> {
  const keys = new Map<Alg, { privateKey: CryptoKey; jwk: JWK }>();
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: `${alg}-1`, alg, use: 'sig' };
    keys.set(alg, { privateKey, jwk });
  }
  let hits = 0;
  let response: { status: number; body: string } | undefined;
  const server: Server = createServer((req, res) => {
    hits++;
    if (response) {
      res.writeHead(response.status, { 'content-type': 'application/json' }).end(response.body);
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: [...keys.values()].map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    hits: () => hits,
    setResponse: (status, body) => {
      response = { status, body };
    },
    sign: async (alg, claims, header = {}) => {
      const k = keys.get(alg)!;
      return new SignJWT(claims).setProtectedHeader({ alg, kid: k.jwk.kid, ...header }).sign(k.privateKey);
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
