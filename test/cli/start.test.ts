/** `portcullis start`: the embedded demo serves, accepts tokens minted before it started, and stops cleanly. */
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/gateway.js';
import { runCli, spawnCli, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

describe('portcullis start (embedded demo)', () => {
  it('serves /healthz and MCP with a token minted before start, then exits 0 on SIGTERM', async () => {
    const port = await freePort();
    // Minted first: `token` creates the dev secret that `start` then uses.
    const minted = await runCli(['token', '--sub', 'alice', '--org', 'acme', '--roles', 'user'], dir, {
      PORT: String(port),
    });
    expect(minted.code).toBe(0);

    const child = spawnCli(['start', '--port', String(port)], dir);
    const exited = once(child, 'exit');
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    const listening = new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes('listening on')) resolve();
      });
      void exited.then(() => reject(new Error(`start exited early:\n${stderr}`)));
    });
    child.stdout!.resume();
    try {
      await listening;
      const base = `http://127.0.0.1:${port}`;
      expect(stderr).toContain(`MCP endpoint: ${base}/mcp`);
      expect(stderr).toContain('portcullis token --sub alice --org acme --roles user');
      expect(stderr).toContain('--sub carol --org acme --roles admin');

      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const meta = {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
      };
      const res = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${minted.stdout.trim()}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'get_user_profile',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'get_user_profile', arguments: { userId: 'alice' }, _meta: meta },
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { result?: { structuredContent?: { id?: string } } };
      expect(body.result?.structuredContent?.id).toBe('alice');
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stderr).toContain('SIGTERM received, closing');
  });

  it('exits 1 when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['start', '--port', String(port)], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^portcullis: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('refuses a non-loopback bind without TLS with exit 2', async () => {
    const r = await runCli(['start'], dir, { HOST: '0.0.0.0', PORT: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/server/host: binding 0.0.0.0 without TLS is refused');
  });
});
