/**
 * HTTPS: with a certificate configured the gateway speaks TLS 1.3 only (TLS 1.2 clients are
 * refused), sends HSTS, and still requires a bearer token. The certificate is made for the
 * test with the machine's openssl.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { createGateway } from '../../src/gateway.js';
import type { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/log.js';
import { freePort } from '../helpers/gateway.js';
import { selfSignedCert } from '../helpers/tls.js';

let dir: string;
let gateway: Gateway;
let port: number;
let cert: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'portcullis-tls-'));
  selfSignedCert(dir);
  cert = readFileSync(path.join(dir, 'cert.pem'));
  port = await freePort();
  writeFileSync(
    path.join(dir, 'c.yaml'),
    `
server:
  port: ${port}
  tls: { cert: cert.pem, key: key.pem }
auth:
  issuers:
    - { issuer: urn:test, algorithms: [HS256], secret: ${'s'.repeat(40)} }
`,
  );
  const config = loadConfigText(readFileSync(path.join(dir, 'c.yaml'), 'utf8'), { env: {}, baseDir: dir });
  gateway = await createGateway(config, { logger: createLogger('silent') });
  await gateway.listen();
});

afterAll(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

function handshake(maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost', maxVersion }, () => {
      resolve(socket.getProtocol() ?? 'none');
      socket.end();
    });
    socket.on('error', () => resolve('refused'));
  });
}

describe('TLS', () => {
  it('negotiates TLS 1.3', async () => {
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
  });

  it('refuses a client limited to TLS 1.2', async () => {
    expect(await handshake('TLSv1.2')).toBe('refused');
  });

  it('answers over HTTPS with HSTS, and still demands a token', async () => {
    const { status, headers } = await new Promise<{ status: number; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/mcp',
            method: 'POST',
            ca: cert,
            servername: 'localhost',
            headers: { host: `localhost:${port}`, 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, headers: res.headers });
          },
        );
        req.on('error', reject);
        req.end('{}');
      },
    );
    expect(status).toBe(401);
    expect(headers['strict-transport-security']).toMatch(/max-age=/);
    expect(String(headers['www-authenticate'])).toContain(
      `resource_metadata="https://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
  });
});
