/** `portcullis audit tail|query|verify|export` as a child process: output, filters, tampering, exit codes. */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { parseEventLine } from '../../src/audit/jsonl.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import type { AuditTrailHandle } from '../../src/audit/trail.js';
import { runCli, spawnCli } from '../cli/helpers.js';
import { auditConfig, callInput, captureLogger, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const DB = path.join(dir, 'state', 'audit.sqlite');
const CONFIG = path.join(dir, 'portcullis.yaml');

/** A store of 12 events: every third by bob@globex and denied. */
async function openTrail(): Promise<AuditTrailHandle> {
  return createAuditTrail(auditConfig(path.join(dir, 'state')), { logger: captureLogger().logger });
}

beforeAll(async () => {
  writeFileSync(
    CONFIG,
    `dataDir: ./state
auth:
  issuers:
    - issuer: urn:test
      algorithms: [HS256]
      secret: audit-cli-test-secret-0123456789abcdef0123
  roles: [user]
tools:
  - name: get_user_profile
    description: Profile.
    input: { type: object, properties: { userId: { type: string } } }
    roles: [user]
    module: { builtin: demo.get_user_profile }
audit:
  instance: test-1
`,
  );
  const trail = await openTrail();
  for (let i = 1; i <= 12; i++) {
    const extra =
      i % 3 === 0 ? ({ user: 'bob', tenant: 'globex', outcome: 'denied', reason: 'tool_not_allowed' } as const) : {};
    await trail.commit(callInput(i, extra));
  }
  await trail.close();
});

/** A copy of the store to tamper with. */
function tamperedCopy(name: string, sql: string): string {
  const file = path.join(dir, name);
  copyFileSync(DB, file);
  const db = new Database(file);
  db.exec(sql);
  db.close();
  return file;
}

describe('portcullis audit', () => {
  it("verify walks the chain of the config's store and exits 0", async () => {
    const r = await runCli(['audit', 'verify', '--config', CONFIG], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('audit chain OK: 12 events (instance test-1)\n');
    expect(r.code).toBe(0);
  });

  it('verify names the first broken link of an edited or a deleted row and exits 1 (O-13)', async () => {
    const edited = tamperedCopy('edited.sqlite', "UPDATE audit_events SET outcome = 'ok' WHERE seq = 6");
    const deleted = tamperedCopy('deleted.sqlite', 'DELETE FROM audit_events WHERE seq = 4');
    const [e, d] = await Promise.all([
      runCli(['audit', 'verify', '--db', edited], dir),
      runCli(['audit', 'verify', '--db', deleted], dir),
    ]);
    expect(e.code).toBe(1);
    expect(e.stdout).toMatch(/^audit chain BROKEN at seq 6 \(id [0-9a-f-]{36}\): hash_mismatch \(instance test-1/);
    expect(d.code).toBe(1);
    expect(d.stdout).toMatch(
      /^audit chain BROKEN at seq 5 \(id [0-9a-f-]{36}\): gap .*\n {2}expected seq 4, found seq 5\n/,
    );
  });

  it('query filters by user and outcome, as JSON lines or a table', async () => {
    const [json, table] = await Promise.all([
      runCli(['audit', 'query', '--config', CONFIG, '--user', 'bob', '--format', 'json'], dir),
      runCli(['audit', 'query', '--db', DB, '--since', '1h', '--outcome', 'ok', '--limit', '2'], dir),
    ]);
    expect(json.code).toBe(0);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => parseEventLine(l)!);
    expect(events.map((e) => e.seq)).toEqual([3, 6, 9, 12]);
    expect(events.every((e) => e.user === 'bob' && e.outcome === 'denied')).toBe(true);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}test-1#1 {2}tool\.called +alice@acme +get_user_profile +ok +1\.25ms/,
    );
  });

  it('export writes every matching event as JSON lines that verify', async () => {
    const out = path.join(dir, 'export.jsonl');
    const r = await runCli(['audit', 'export', '--db', DB, '--out', out], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`exported 12 events to ${out}\n`);
    const events = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => parseEventLine(l)!);
    expect(verifyChain(events)).toMatchObject({ ok: true, count: 12 });
    const until = await runCli(['audit', 'export', '--db', DB, '--until', '2000-01-01T00:00:00Z'], dir);
    expect(until).toMatchObject({ code: 0, stdout: '', stderr: 'exported 0 events\n' });
  });

  it('tail prints the last events, escaping whatever a tampered row holds (O-06)', async () => {
    const spoofed = tamperedCopy(
      'spoofed.sqlite',
      "UPDATE audit_events SET tool = 'x' || char(27) || '[2J' || char(8238) WHERE seq = 12",
    );
    const r = await runCli(['audit', 'tail', '--db', spoofed, '-n', '3'], dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => /#(\d+)/.exec(l)?.[1])).toEqual(['10', '11', '12']);
    expect(lines[2]).toContain('x\\u001b[2J\\u202e');
    // eslint-disable-next-line no-control-regex -- asserting that no control character is left
    expect(r.stdout).not.toMatch(/[\u001b\u202e]/);
  });

  it('tail --follow prints new events as they are stored, until SIGINT', async () => {
    const child = spawnCli(['audit', 'tail', '--db', DB, '-n', '1', '--follow', '--tool', 'refund_payment'], dir);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 800)); // started and printed the (empty) tail
    const trail = await openTrail();
    await trail.commit(callInput(13, { tool: 'refund_payment', user: 'carol' }));
    await trail.commit(callInput(14));
    await trail.close();
    await expect.poll(() => stdout, { timeout: 5000, interval: 100 }).toContain('refund_payment');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toMatch(/#13 {2}tool\.called +carol@acme +refund_payment/);
  });

  it('answers usage errors with 2 and a missing store with 1', async () => {
    const results = await Promise.all([
      runCli(['audit'], dir),
      runCli(['audit', 'bogus'], dir),
      runCli(['audit', 'query', '--db', DB, '--outcome', 'maybe'], dir),
      runCli(['audit', 'query', '--db', DB, '--since', 'yesterday'], dir),
      runCli(['audit', 'tail', '--db', DB, '--nope'], dir),
      runCli(['audit', 'verify', '--db', path.join(dir, 'missing.sqlite')], dir),
      runCli(['audit', 'tail', '--help'], dir),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 1, 0]);
    expect(results[1].stderr).toContain("unknown subcommand 'bogus'");
    expect(results[2].stderr).toContain("--outcome: 'maybe' is not one of ok, error, denied");
    expect(results[4].stderr).toContain("audit tail: unknown option --nope (see 'portcullis audit tail --help')");
    expect(results[5].stderr).toContain('no audit database at');
    expect(results[6].stdout).toMatch(/^Usage: portcullis audit <tail\|query\|verify\|export>/);
  });
});
