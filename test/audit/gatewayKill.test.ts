/**
 * The kill -9 proof, end to end: a real gateway process serving tool calls from 16
 * concurrent clients is killed with SIGKILL; after a restart every call whose answer reached a
 * client has exactly one `tool.called` event, and `portcullis audit verify` passes. Then one row
 * is edited, or deleted, and verify fails and names where.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir } from '../cli/helpers.js';
import { freePort } from '../helpers/gateway.js';
import { postModern } from '../integration/support.js';

const SECRET = 'durability-secret-0123456789abcdef0123456789';
let dir: string;
let cleanup: () => void;
let port: number;
let configPath: string;
let auditFile: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  port = await freePort();
  mkdirSync(path.join(dir, 'state'), { mode: 0o700 });
  writeFileSync(path.join(dir, 'state', 'secret'), SECRET, { mode: 0o600 });
  const demo = readFileSync(path.resolve(import.meta.dirname, '../../examples/demo/portcullis.yaml'), 'utf8');
  const big = '{ requests: 1000000, windowSec: 60 }';
  const config = demo
    .replace(/^dataDir: .*$/m, 'dataDir: state')
    .replace('secretFile: .portcullis/dev-secret', 'secretFile: state/secret')
    .replace('database: .portcullis/demo.sqlite', 'database: state/demo.sqlite')
    .concat(
      `\nlimits:\n  perPrincipal: ${big}\n  perTenant: ${big}\n  perPrincipalTool: ${big}\n  perIp: ${big}\n` +
        '  concurrentPerPrincipal: 64\nlogging:\n  level: warn\n',
    );
  configPath = path.join(dir, 'portcullis.yaml');
  writeFileSync(configPath, config);
  auditFile = path.join(dir, 'state', 'audit.sqlite');
});

afterAll(() => cleanup());

async function startAndWait(url: string) {
  const child = spawnCli(['start', '--config', configPath, '--port', String(port)], dir);
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('gateway did not start');
}

describe('kill -9 of the gateway under load', () => {
  it('loses no acknowledged tool.called event, and the chain verifies after a restart', async () => {
    const url = `http://127.0.0.1:${port}`;
    const child = await startAndWait(url);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: 'alice', org_id: 'acme', roles: ['user'], iat: now, exp: now + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('urn:portcullis:dev')
      .setAudience(`${url}/mcp`)
      .sign(new TextEncoder().encode(SECRET));

    const acknowledged: string[] = [];
    let id = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await postModern(
            `${url}/mcp`,
            token,
            'tools/call',
            { name: 'get_user_profile', arguments: { userId: 'alice' } },
            { id: ++id },
          );
          const body = await res.text();
          if (res.status === 200 && body.includes('"structuredContent"'))
            acknowledged.push(res.headers.get('x-request-id')!);
        } catch {
          return; // the gateway is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, () => worker());
    while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL'); // calls are in flight
    await exited;
    stop = true;
    await Promise.all(workers);

    // Restart on the same files, then stop gracefully: the chain continues across the crash.
    const again = await startAndWait(url);
    const stopped = new Promise((r) => again.once('exit', r));
    again.kill('SIGTERM');
    await stopped;

    const db = new Database(auditFile, { readonly: true });
    try {
      const rows = db
        .prepare(
          "select request_id as requestId, count(*) as n from audit_events where event = 'tool.called' group by request_id",
        )
        .all() as { requestId: string; n: number }[];
      const counts = new Map(rows.map((r) => [r.requestId, r.n]));
      expect(acknowledged.length).toBeGreaterThanOrEqual(300);
      expect(acknowledged.filter((r) => counts.get(r) !== 1)).toEqual([]);
    } finally {
      db.close();
    }
    const verify = await runCli(['audit', 'verify', '--config', configPath], dir);
    expect(verify.stdout).toMatch(/audit chain OK/);
    expect(verify.code).toBe(0);
  }, 90_000);

  it('fails verify on an edited row and names it', async () => {
    const db = new Database(auditFile);
    const row = db
      .prepare("select seq from audit_events where event = 'tool.called' order by seq limit 1 offset 10")
      .get() as { seq: number };
    db.prepare("update audit_events set user = 'mallory' where seq = ?").run(row.seq);
    db.close();
    const verify = await runCli(['audit', 'verify', '--config', configPath], dir);
    expect(verify.code).toBe(1);
    expect(verify.stdout + verify.stderr).toMatch(new RegExp(`BROKEN at seq ${row.seq}\\b`));
  });

  it('fails verify on a deleted row and names where', async () => {
    const db = new Database(auditFile);
    db.prepare("update audit_events set user = 'alice' where user = 'mallory'").run();
    const row = db
      .prepare("select seq from audit_events where event = 'tool.called' order by seq limit 1 offset 20")
      .get() as { seq: number };
    db.prepare('delete from audit_events where seq = ?').run(row.seq);
    db.close();
    const verify = await runCli(['audit', 'verify', '--config', configPath], dir);
    expect(verify.code).toBe(1);
    expect(verify.stdout + verify.stderr).toMatch(new RegExp(`BROKEN at seq ${row.seq + 1}\\b`));
  });
});
