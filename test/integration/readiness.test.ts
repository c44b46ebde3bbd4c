/** /readyz tells the truth about keys: a JWKS issuer is ready only once its key set is fetched. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { createGateway } from '../../src/gateway.js';
import type { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/log.js';
import { freePort } from '../helpers/gateway.js';
import { startIdp } from '../helpers/idp.js';
import type { TestIdp } from '../helpers/idp.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatewayFor(idp: TestIdp): Promise<{ gateway: Gateway; url: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-ready-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = loadConfigText(
    `server: { port: ${port} }
auth:
  issuers:
    - { issuer: "${idp.issuer}", algorithms: [ES256], jwksUri: "${idp.jwksUri}" }`,
    { env: {}, baseDir: dir },
  );
  const gateway = await createGateway(config, { logger: createLogger('silent') });
  const { url } = await gateway.listen();
  cleanups.push(() => gateway.close());
  return { gateway, url };
}

async function readyz(url: string): Promise<{ status: number; body: unknown }> {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${url}/readyz`);
    const body: unknown = await res.json();
    if (res.status === 200 || i === 49) return { status: res.status, body };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('unreachable');
}

describe('/readyz and remote keys', () => {
  it('is ready once the issuer JWKS has been fetched at start', async () => {
    const idp = await startIdp();
    cleanups.push(() => idp.close());
    const { url } = await gatewayFor(idp);
    expect(await readyz(url)).toEqual({ status: 200, body: { status: 'ready', checks: { audit: 'ok', keys: 'ok' } } });
    expect(idp.hits()).toBeGreaterThanOrEqual(1);
  });

  it('is not ready while the JWKS cannot be fetched', async () => {
    const idp = await startIdp();
    cleanups.push(() => idp.close());
    idp.setResponse(500, '{}');
    const { url } = await gatewayFor(idp);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not_ready', checks: { audit: 'ok', keys: 'failing' } });
  });
});
