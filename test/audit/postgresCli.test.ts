/**
 * `portcullis audit tail|query|verify|export` against a config whose store is PostgreSQL (URL from
 * `${env:…}`): two instances in one table, each chain verified; an edited and a deleted row named
 * as for SQLite (O-13); filters, export, tail --follow across instances; errors without the password.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { parseEventLine } from '../../src/audit/jsonl.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import { runCli, spawnCli } from '../cli/helpers.js';
import { callInput, captureLogger, tempDir } from './helpers.js';
import { PG_URL, adminClient, closedPort, dropTables, postgresAuditConfig, uniqueTable } from './postgresHelpers.js';

const TABLE = uniqueTable('cli');
const { dir, cleanup } = tempDir();
const CONFIG = path.join(dir, 'portcullis.yaml');
const ENV = { AUDIT_PG_URL: PG_URL };
let admin: pg.Client;

/** Commits `inputs` under `instance`, as a gateway of that name would. */
async function commitAs(instance: string, inputs: Parameters<typeof callInput>[]): Promise<void> {
  const trail = await createAuditTrail(postgresAuditConfig(TABLE, { instance }), { logger: captureLogger().logger });
  for (const args of inputs) await trail.commit(callInput(...args));
  await trail.close();
}

beforeAll(async () => {
  admin = await adminClient();
  writeFileSync(
    CONFIG,
    `dataDir: ./state
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: audit-cli-test-secret-0123456789abcdef0123
audit:
  sqlite: false
  postgres:
    url: \${env:AUDIT_PG_URL}
    table: ${TABLE}
`,
  );
  // web-1: 6 events, every third by bob@globex and denied; web-2: 4 events.
  await commitAs(
    'web-1',
    [1, 2, 3, 4, 5, 6].map((i) => [
      i,
      i % 3 === 0 ? { user: 'bob', tenant: 'globex', outcome: 'denied', reason: 'tool_not_allowed' } : {},
    ]),
  );
  await commitAs(
    'web-2',
    [7, 8, 9, 10].map((i) => [i, { tool: 'list_invoices' }]),
  );
});
afterAll(async () => {
  await admin.end();
  await dropTables(TABLE);
  cleanup();
});

const audit = (...args: string[]) => runCli(['audit', ...args, '--config', CONFIG], dir, ENV);

describe('portcullis audit on PostgreSQL', () => {
  it('verify checks the chain of every instance in the table, and names an edited or a deleted row (O-13)', async () => {
    const ok = await audit('verify');
    expect(ok).toEqual({
      code: 0,
      stdout: 'audit chain OK: 6 events (instance web-1)\naudit chain OK: 4 events (instance web-2)\n',
      stderr: '',
    });

    const t = pg.escapeIdentifier(TABLE);
    await admin.query(`UPDATE ${t} SET outcome = 'ok' WHERE instance = 'web-1' AND seq = 3`);
    try {
      const edited = await audit('verify');
      expect(edited.code).toBe(1);
      expect(edited.stdout).toMatch(
        /^audit chain BROKEN at seq 3 \(id [0-9a-f-]{36}\): hash_mismatch \(instance web-1; 2 events before it verified\)\n {2}stored hash [0-9a-f]{64}, fields hash to [0-9a-f]{64}\naudit chain OK: 4 events \(instance web-2\)\n$/,
      );
    } finally {
      await admin.query(`UPDATE ${t} SET outcome = 'denied' WHERE instance = 'web-1' AND seq = 3`);
    }

    const { rows } = await admin.query(`DELETE FROM ${t} WHERE instance = 'web-2' AND seq = 2 RETURNING *`);
    try {
      const deleted = await audit('verify', '--instance', 'web-2');
      expect(deleted.code).toBe(1);
      expect(deleted.stdout).toMatch(
        /^audit chain BROKEN at seq 3 \(id [0-9a-f-]{36}\): gap \(instance web-2; 1 events before it verified\)\n {2}expected seq 2, found seq 3\n$/,
      );
    } finally {
      const row = rows[0] as Record<string, unknown>;
      const columns = Object.keys(row); // put back as it was, row id included
      await admin.query(
        `INSERT INTO ${t} (${columns.map((c) => pg.escapeIdentifier(c)).join(', ')}) OVERRIDING SYSTEM VALUE
         VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => row[c]),
      );
    }
    expect((await audit('verify')).code).toBe(0);
  }, 60_000);

  it('query filters across instances; tail shows the newest; export writes JSON lines whose chains verify', async () => {
    const out = path.join(dir, 'export.jsonl');
    const [bob, last, exported] = await Promise.all([
      audit('query', '--user', 'bob', '--outcome', 'denied', '--format', 'json'),
      audit('tail', '-n', '2'),
      audit('export', '--out', out),
    ]);
    expect(bob.code).toBe(0);
    const events = bob.stdout
      .trim()
      .split('\n')
      .map((l) => parseEventLine(l)!);
    expect(events.map((e) => `${e.instance}#${e.seq}`)).toEqual(['web-1#3', 'web-1#6']);

    expect(last.code).toBe(0);
    const lines = last.stdout.trim().split('\n');
    expect(lines.map((l) => / {2}(web-\d#\d+) {2}/.exec(l)?.[1])).toEqual(['web-2#3', 'web-2#4']);
    expect(lines[1]).toMatch(/tool\.called +alice@acme +list_invoices +ok +1\.25ms/);

    expect(exported).toMatchObject({ code: 0, stderr: `exported 10 events to ${out}\n` });
    const all = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => parseEventLine(l)!);
    for (const [instance, count] of [
      ['web-1', 6],
      ['web-2', 4],
    ] as const) {
      expect(verifyChain(all.filter((e) => e.instance === instance))).toMatchObject({ ok: true, count });
    }
  }, 60_000);

  it('tail --follow prints events of every instance as they are committed, until SIGINT', async () => {
    await commitAs('web-2', [[11, { tool: 'refund_payment', user: 'carol' }]]); // web-2#5: the initial tail
    const child = spawnCli(
      ['audit', 'tail', '--config', CONFIG, '-n', '1', '-f', '--tool', 'refund_payment'],
      dir,
      ENV,
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The follower starts before the tail is read: once the tail is printed, it is following.
    await expect.poll(() => stdout, { timeout: 20_000, interval: 100 }).toContain('web-2#5');
    await commitAs('web-2', [[12], [13, { tool: 'refund_payment', user: 'erin' }]]);
    await commitAs('web-3', [[14, { tool: 'refund_payment', user: 'dave', tenant: 'globex' }]]);
    await expect.poll(() => stdout, { timeout: 20_000, interval: 100 }).toContain('web-3#1');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/web-2#5 {2}tool\.called +carol@acme +refund_payment/);
    expect(lines[1]).toMatch(/web-2#7 {2}tool\.called +erin@acme +refund_payment/);
    expect(lines[2]).toMatch(/web-3#1 {2}tool\.called +dave@globex +refund_payment/);
  }, 60_000);

  it('an unreachable database is a runtime failure (1) named without its password; a missing store a usage error (2)', async () => {
    const url = `postgres://auditor:hunter2-secret@127.0.0.1:${await closedPort()}/test`;
    const [down, sqlite, bad] = await Promise.all([
      runCli(['audit', 'verify', '--config', CONFIG], dir, { AUDIT_PG_URL: url }),
      audit('verify', '--store', 'sqlite'),
      audit('verify', '--store', 'mysql'),
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /cannot read the PostgreSQL audit table t_cli_\w+ at postgres:\/\/auditor@127\.0\.0\.1:\d+\/test: .*ECONNREFUSED/,
    );
    expect(down.stderr + down.stdout).not.toContain('hunter2');
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toContain('audit: the config has no SQLite audit store');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--store: 'mysql' is not sqlite or postgres");
  }, 60_000);
});
