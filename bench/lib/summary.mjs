// Medians over the valid runs, ratios between servers of the same invocation, and the target checks of issue 5.
import { median, medianHigh } from './stats.mjs';

export const REFS = [
  ['raw', '× raw floor'],
  ['sdk-v1-express', '× SDK v1+Express'],
  ['sdk-v2', '× SDK v2'],
  ['fastmcp', '× FastMCP'],
];
const RATIO_TARGETS = [
  { ref: 'sdk-v1-express', min: 8, text: '≥ 8× SDK v1 + Express' },
  { ref: 'sdk-v2', min: 15, text: '≥ 15× SDK v2 createMcpHandler' },
  { ref: 'fastmcp', min: 5, text: '≥ 5× FastMCP' },
  { ref: 'raw', min: 0.6, text: '≥ 60 % of the raw floor' },
];

export function summarize({ servers, results, scale, ttfb, facts, opt }) {
  const rows = servers.map((s) => {
    const all = results[s.name];
    const ok = all.filter((r) => r.valid);
    const cps = ok.map((r) => r.callsPerSec);
    const cpu = ok.map((r) => r.cpuUsPerCall).filter((x) => x !== null);
    return {
      name: s.name,
      label: s.label,
      kind: s.kind,
      method: s.method,
      callsPerSec: median(cps),
      min: Math.min(...cps),
      max: Math.max(...cps),
      p50: medianHigh(ok.map((r) => r.p50)),
      p99: medianHigh(ok.map((r) => r.p99)),
      cpuUsPerCall: cpu.length ? median(cpu) : null,
      bytesPerCall: median(ok.map((r) => r.bytesPerCall)),
      validRuns: ok.length,
      invalidRuns: all.length - ok.length,
      errors: all.reduce((n, r) => n + r.errors + r.timeouts, 0),
      non2xx: all.reduce((n, r) => n + r.non2xx, 0),
      runs: all,
      audit: s.audit ?? null,
    };
  });
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  for (const r of rows) {
    if (r.kind !== 'portcullis') continue;
    r.ratios = Object.fromEntries(REFS.map(([ref]) => [ref, by[ref] ? r.callsPerSec / by[ref].callsPerSec : NaN]));
  }
  const targets = [];
  for (const r of rows.filter((x) => x.kind === 'portcullis')) {
    if (r.method === 'tools/call') {
      for (const t of RATIO_TARGETS) {
        const v = r.ratios[t.ref];
        if (!Number.isNaN(v)) targets.push({ target: t.text, on: r.name, actual: fmtRatio(v), ok: v >= t.min });
      }
    }
    if (!Number.isNaN(r.p99))
      targets.push({ target: 'p99 < 10 ms at 32 connections', on: r.name, actual: `${r.p99} ms`, ok: r.p99 < 10 });
  }
  if (scale) {
    const kb = scale.perSession.heapBytesPerSession / 1024;
    targets.push({ target: 'idle session < 20 KB', on: 'heap/session', actual: `${kb.toFixed(2)} KB`, ok: kb < 20 });
    const d = scale.churn.heapDeltaPct;
    targets.push({
      target: 'heap flat (±10 %) after churn',
      on: `${scale.churn.cycles} cycles`,
      actual: `${d.toFixed(1)} %`,
      ok: Math.abs(d) <= 10,
    });
    for (const a of scale.audit) {
      const on = `${a.concurrency} concurrent commits`;
      targets.push({
        target: 'audit ≥ 20,000 events/s (durable)',
        on,
        actual: `${fmt(a.eventsPerSec)}/s`,
        ok: a.eventsPerSec >= 20_000,
      });
    }
  }
  const invalidRuns = rows.reduce((n, r) => n + r.invalidRuns, 0);
  return { rows, targets, scale, ttfb, facts, opt, invalidRuns };
}

export const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
export const fmtRatio = (x) => (Number.isFinite(x) ? (x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`) : '—');
