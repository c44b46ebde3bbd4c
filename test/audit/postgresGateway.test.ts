/**
 * Real gateways whose audit trail is PostgreSQL only (`sqlite: false`): a call is answered only
 * once its event is committed (another connection sees it at once), two gateways share one table
 * with a valid chain each, and a database that goes away makes tool calls fail closed (503,
 * SEC-AUD-05, O-09) until it is back, with nothing lost from the chain.
 */
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { PostgresAuditSink } from '../../src/audit/postgres.js';
import { runCli } from '../cli/helpers.js';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { postModern } from '../integration/support.js';
import { PG_URL, TcpProxy, dropTables, uniqueTable } from './postgresHelpers.js';

const TABLE = uniqueTable('gw');
let admin: pg.Pool;
beforeAll(() => {
  admin = new pg.Pool({ connectionString: PG_URL, max: 8 });
});
afterAll(async () => {
  await admin.end();
  await dropTables(TABLE);
});

/** The `audit:` block of a gateway that writes only to PostgreSQL (limits wide enough for the bursts below). */
function pgAudit(instance: string, url = PG_URL): string {
  return `audit:\n  sqlite: false\n  instance: ${instance}\n  postgres:\n    url: ${url}\n    table: ${TABLE}
limits:
  perPrincipal: { requests: 10000, windowSec: 60 }
  perPrincipalTool: { requests: 10000, windowSec: 60 }
  perTool: { requests: 10000, windowSec: 60 }
  concurrentPerPrincipal: 64`;
}

function call(g: TestGateway, token: string, id: number): Promise<Response> {
  return postModern(
    g.mcpUrl,
    token,
    'tools/call',
    { name: 'get_user_profile', arguments: { userId: 'alice' } },
    { id },
  );
}

async function chainOf(instance: string) {
  const sink = await PostgresAuditSink.open({ url: PG_URL, table: TABLE });
  try {
    return await sink.eventsAfter(instance, 0, 1_000_000);
  } finally {
    await sink.close();
  }
}

describe('a gateway auditing to PostgreSQL', () => {
  it('answers each of 32 concurrent calls only once its event is committed: another connection sees it at once', async () => {
    const g = await startGateway({ extraYaml: pgAudit('pg-durable') });
    try {
      const token = await g.token('alice');
      const seen = await Promise.all(
        Array.from({ length: 32 }, async (_, i) => {
          const res = await call(g, token, i + 1);
          const requestId = res.headers.get('x-request-id');
          // Read the moment the answer's headers arrive, before its body, on a connection of our own.
          const { rows } = await admin.query<{ event: string; outcome: string }>(
            `SELECT event, outcome FROM ${pg.escapeIdentifier(TABLE)} WHERE request_id = $1`,
            [requestId],
          );
          expect(res.status).toBe(200);
          await res.text();
          return rows;
        }),
      );
      for (const rows of seen) expect(rows).toEqual([{ event: 'tool.called', outcome: 'ok' }]);
    } finally {
      await g.close();
    }
  }, 60_000);

  it('two gateways on one table each keep their own valid chain, and audit verify checks both', async () => {
    const [a, b] = await Promise.all([
      startGateway({ extraYaml: pgAudit('pg-a') }),
      startGateway({ extraYaml: pgAudit('pg-b') }),
    ]);
    try {
      const [ta, tb] = await Promise.all([a.token('alice'), b.token('alice')]);
      const statuses = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const res = await call(i % 2 === 0 ? a : b, i % 2 === 0 ? ta : tb, i + 1);
          await res.text();
          return res.status;
        }),
      );
      expect(statuses).toEqual(statuses.map(() => 200));
      for (const instance of ['pg-a', 'pg-b']) {
        const events = await chainOf(instance);
        expect(events.filter((e) => e.event === 'tool.called')).toHaveLength(20);
        expect(verifyChain(events)).toMatchObject({ ok: true, count: events.length });
      }
      const r = await runCli(['audit', 'verify', '--config', path.join(a.dir, 'portcullis.yaml')], a.dir);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        /audit chain OK: \d+ events \(instance pg-a\)\naudit chain OK: \d+ events \(instance pg-b\)\n/,
      );
      expect(r.code).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);

  it('fails tool calls closed while the database is unreachable (503, Retry-After) and recovers without a gap (O-09)', async () => {
    const proxy = await TcpProxy.start();
    const g = await startGateway({ extraYaml: pgAudit('pg-down', proxy.url()) });
    try {
      const token = await g.token('alice');
      const first = await call(g, token, 1);
      expect(first.status).toBe(200);
      await first.text();

      proxy.cut();
      const refused = await call(g, token, 2);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      const body = (await refused.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32000);
      expect(body.error.message).toMatch(/^Audit trail unavailable/);
      expect((await fetch(`${g.url}/readyz`)).status).toBe(503);
      const again = await call(g, token, 3); // unhealthy: its intent cannot be stored, so it does not run
      expect(again.status).toBe(503);
      await again.text();

      proxy.restore();
      await expect
        .poll(
          async () => {
            const res = await call(g, token, 4);
            await res.text();
            return res.status;
          },
          { timeout: 20_000, interval: 250 },
        )
        .toBe(200);
      expect((await fetch(`${g.url}/readyz`)).status).toBe(200);

      const events = await chainOf('pg-down');
      expect(verifyChain(events)).toMatchObject({ ok: true, count: events.length });
      // The withheld call's event was kept and written once the database was back.
      const withheld = events.filter((e) => e.requestId === refused.headers.get('x-request-id'));
      expect(withheld.map((e) => e.event)).toContain('tool.called');
    } finally {
      await g.close();
      await proxy.close();
    }
  }, 60_000);
});
