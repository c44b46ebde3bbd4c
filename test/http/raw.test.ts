/**
 * Raw-socket checks where `fetch` would normalise the request: body limits while streaming,
 * oversized headers, and a body never read when the request is refused first.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';

let g: TestGateway;
let token: string;

beforeAll(async () => {
  g = await startGateway();
  token = await g.token('alice');
});
afterAll(async () => {
  await g.close();
});

/** Sends raw bytes, returns everything the server answered before closing (or after a pause). */
function raw(chunks: (string | Buffer)[], waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(g.port, '127.0.0.1');
    let out = '';
    const done = (): void => {
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

const head = (extra: string) =>
  `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${extra}\r\n`;

describe('raw HTTP', () => {
  it('V-01 refuses a declared Content-Length over the limit with 413 and closes', async () => {
    const answer = await raw([head('Content-Length: 52428800\r\n')]);
    expect(answer).toMatch(/^HTTP\/1.1 413/);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('V-01 cuts a chunked body at the limit with 413 and closes', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks: (string | Buffer)[] = [head('Transfer-Encoding: chunked\r\n')];
    for (let i = 0; i < 20; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    const answer = await raw(chunks);
    expect(answer).toMatch(/^HTTP\/1.1 413/);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('J-33 answers headers over 16 KiB with 431', async () => {
    const answer = await raw([`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]);
    expect(answer).toMatch(/^HTTP\/1.1 431/);
  });

  it('SEC-AUTH-02 refuses a bad token without reading a large body, and closes', async () => {
    const answer = await raw([
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${g.port}\r\nAuthorization: Bearer x.y.z\r\nContent-Type: application/json\r\nContent-Length: 900000\r\n\r\n`,
    ]);
    expect(answer).toMatch(/^HTTP\/1.1 401/);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('J-37 two Authorization headers are malformed credentials (400 invalid_request)', async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
    const answer = await raw(
      [`${head(`Authorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n`)}${body}`],
      800,
    );
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer).toContain('error="invalid_request"');
  });

  it('stays healthy after all of the above', async () => {
    const res = await fetch(`${g.url}/healthz`);
    expect(res.status).toBe(200);
  });
});
