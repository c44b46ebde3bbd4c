/**
 * The audit trail seen from the wire (SEC-AUD-01/05): every call and denial is recorded with the
 * request id the client saw; a destructive tool's intent is durable before it runs; when the
 * sink fails, tool calls fail closed with 503 — or still run for read-only tools when configured.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditSink } from '../../src/audit/sqlite.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observability/log.js';
import { FlakySink, storedEvents } from '../audit/helpers.js';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { initialize2025, postModern } from './support.js';

function call(url: string, token: string, name: string, args: Record<string, unknown>, id = 1): Promise<Response> {
  return postModern(`${url}/mcp`, token, 'tools/call', { name, arguments: args }, { id });
}

describe('audit events of real calls', () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway({ extraYaml: 'audit:\n  instance: it-1' });
  });
  afterAll(async () => {
    await g.close();
  });

  it('records the intent of a destructive call before the call itself, under the request id the client saw', async () => {
    const res = await call(g.url, await g.token('carol'), 'deprovision_tenant', { confirm: true });
    expect(res.status).toBe(200);
    await res.text();
    const requestId = res.headers.get('x-request-id')!;
    const events = storedEvents(path.join(g.dir, 'audit.sqlite'), 'it-1').filter((e) => e.requestId === requestId);
    expect(events.map((e) => e.event)).toEqual(['tool.intent', 'tool.called']);
    expect(events[1]).toMatchObject({ user: 'carol', tenant: 'acme', tool: 'deprovision_tenant', outcome: 'ok' });
  });

  it('records denials and auth failures', async () => {
    const denied = await call(g.url, await g.token('alice'), 'deprovision_tenant', { confirm: true });
    await denied.text();
    const bad = await fetch(`${g.url}/mcp`, { method: 'POST', headers: { authorization: 'Bearer x.y.z' }, body: '{}' });
    await bad.text();
    await g.gateway.audit.close(); // flushes what was only recorded
    const events = storedEvents(path.join(g.dir, 'audit.sqlite'), 'it-1');
    expect(events.find((e) => e.requestId === denied.headers.get('x-request-id'))).toMatchObject({
      event: 'tool.denied',
      user: 'alice',
      reason: 'role_denied',
    });
    expect(events.find((e) => e.requestId === bad.headers.get('x-request-id'))).toMatchObject({ event: 'auth.failed' });
  });
});

describe('a failing audit sink', () => {
  async function gatewayWithFlakySink(failMode: 'closed' | 'openForReadOnly') {
    const base = await startGateway();
    const config = loadConfigFile(path.join(base.dir, 'portcullis.yaml'), { port: base.port + 0, env: {} });
    await base.gateway.close();
    const sink = new FlakySink(SqliteAuditSink.open(path.join(base.dir, 'flaky.sqlite')));
    const logger = createLogger('silent');
    const audit = await createAuditTrail(
      { ...config.audit, failMode },
      { logger, sinks: [sink], retryDelayMs: 60_000 },
    );
    const gateway = await createGateway({ ...config, audit: { ...config.audit, failMode } }, { logger, audit });
    await gateway.listen();
    return { base, gateway, sink, close: () => gateway.close() };
  }

  it('O-09 refuses tool calls with 503 while the sink fails, and recovers', async () => {
    const { base, sink, close } = await gatewayWithFlakySink('closed');
    try {
      const token = await base.token('alice');
      expect((await call(base.url, token, 'get_user_profile', { userId: 'alice' })).status).toBe(200);
      sink.failing = true;
      const refused = await call(base.url, token, 'get_user_profile', { userId: 'alice' }, 2);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({
        error: { code: -32000, message: expect.stringMatching(/Audit trail unavailable/) },
      });
      // A write tool does not run at all while the trail is unhealthy.
      const ticket = await call(base.url, token, 'create_support_ticket', { subject: 's', body: 'b' }, 3);
      expect(ticket.status).toBe(503);
      sink.failing = false;
      expect((await call(base.url, token, 'get_user_profile', { userId: 'alice' }, 4)).status).toBe(200);
    } finally {
      await close();
    }
  });

  it('lets read-only tools run under failMode openForReadOnly, never write tools', async () => {
    const { base, sink, close } = await gatewayWithFlakySink('openForReadOnly');
    try {
      const token = await base.token('alice');
      sink.failing = true;
      const read = await call(base.url, token, 'get_user_profile', { userId: 'alice' });
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ result: { structuredContent: { id: 'alice' } } });
      const write = await call(base.url, token, 'create_support_ticket', { subject: 's', body: 'b' }, 2);
      expect(write.status).toBe(503);
    } finally {
      sink.failing = false;
      await close();
    }
  });
});

describe('session hijack attempts', () => {
  it("S-01 records session.owner_mismatch when bob presents alice's session id", async () => {
    const g = await startGateway({ extraYaml: 'audit:\n  instance: it-2' });
    try {
      const init = await initialize2025(g.mcpUrl, await g.token('alice'));
      await init.text();
      const hijack = await fetch(`${g.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await g.token('bob')}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': init.headers.get('mcp-session-id')!,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      expect(hijack.status).toBe(404);
      await g.gateway.audit.close();
      const events = storedEvents(path.join(g.dir, 'audit.sqlite'), 'it-2');
      expect(events.find((e) => e.requestId === hijack.headers.get('x-request-id'))).toMatchObject({
        event: 'session.owner_mismatch',
        user: 'bob',
      });
    } finally {
      await g.close();
    }
  });
});
