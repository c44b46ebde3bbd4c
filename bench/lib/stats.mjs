/* global performance, process */
// Small statistics and facts shared by the runner and the report.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The upper median: for an even count, the larger middle value (conservative for latencies). */
export function medianHigh(xs) {
  if (xs.length === 0) return NaN;
  return [...xs].sort((a, b) => a - b)[xs.length >> 1];
}

/** What the report says about the machine and the code measured. */
export function machineFacts(root) {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    dirtySrcFiles: dirty,
    loadavgStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

/**
 * Time to first byte of the 2024-11-05 SSE stream: `GET /mcp/sse` on a fresh connection until
 * the `event: endpoint` bytes arrive, `samples` times in sequence; milliseconds.
 */
export async function sseTtfb(port, token, samples = 50) {
  const times = [];
  for (let i = 0; i < samples; i++) {
    times.push(await oneTtfb(port, token));
    await sleep(10);
  }
  return { samples, medianMs: median(times), p90Ms: quantile(times, 0.9), maxMs: Math.max(...times) };
}

function oneTtfb(port, token) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let seen = '';
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path: '/mcp/sse',
        agent: false,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          req.destroy();
          reject(new Error(`GET /mcp/sse: HTTP ${res.statusCode}`));
          return;
        }
        res.on('data', (chunk) => {
          seen += chunk.toString();
          if (seen.includes('event: endpoint')) {
            const ms = performance.now() - t0;
            req.destroy();
            resolve(ms);
          }
        });
      },
    );
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.setTimeout(5000, () => {
      req.destroy();
      reject(new Error('GET /mcp/sse: no endpoint event within 5 s'));
    });
  });
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** CPU time (ms) all processes on the machine have used so far, from /proc/stat (Linux); null elsewhere. */
export function machineBusyMs() {
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system] = f;
    return (user + nice + system) * 10;
  } catch {
    return null;
  }
}

/** The share of the machine's CPU (in % of one core) used over `ms`, sampled now. */
export async function machineBusyPct(ms = 1000) {
  const a = machineBusyMs();
  await sleep(ms);
  const b = machineBusyMs();
  return a === null || b === null ? null : ((b - a) / ms) * 100;
}
