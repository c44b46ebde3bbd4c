/**
 * Durability (issue 3): a process killed with SIGKILL under concurrent load loses no acknowledged
 * event, and a restarted trail continues the chain so verify still passes, in both sinks.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { parseEventLine } from '../../src/audit/jsonl.js';
import { AuditReader } from '../../src/audit/reader.js';
import { createAuditTrail } from '../../src/audit/trail.js';
import { auditConfig, captureLogger, tempDir } from './helpers.js';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CHILD = path.resolve(import.meta.dirname, 'fixtures/commitLoop.ts');
const { dir, cleanup } = tempDir();
afterAll(cleanup);

/** Runs the commit loop until `target` acks have been read, then SIGKILLs it; resolves with the acked ids. */
function runAndKill(prefix: string, target: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, dir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('acked ')) acked.push(line.slice(6));
      if (acked.length >= target && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited without being killed: ${stderr}`)),
    );
  });
}

describe('kill -9 under load', () => {
  it('keeps every acknowledged event, and a restart continues a chain that verifies', async () => {
    const first = await runAndKill('a', 400);
    const second = await runAndKill('b', 400);

    const reader = AuditReader.open(path.join(dir, 'audit.sqlite'));
    const events = [...reader.chain('kill-test')];
    reader.close();
    const stored = new Set(events.map((e) => e.requestId));
    expect([...first, ...second].filter((id) => !stored.has(id))).toEqual([]);
    expect(verifyChain(events)).toMatchObject({ ok: true, count: events.length });

    // The JSONL copy holds at least every acknowledged event and verifies too (a torn last
    // line from the kill is cut when the next trail opens it).
    const { logger } = captureLogger();
    const trail = await createAuditTrail(
      auditConfig(dir, { instance: 'kill-test', jsonl: { path: path.join(dir, 'audit.jsonl') } }),
      { logger },
    );
    await trail.commit({ event: 'config.loaded' });
    await trail.close();
    const lines = readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean);
    const fromJsonl = lines.map((l) => parseEventLine(l)).filter((e) => e !== undefined);
    const inJsonl = new Set(fromJsonl.map((e) => e.requestId));
    expect([...first, ...second].filter((id) => !inJsonl.has(id))).toEqual([]);
    expect(verifyChain(fromJsonl)).toMatchObject({ ok: true, count: events.length + 1 });
  });
});
