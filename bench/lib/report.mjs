/* global process */
// Prints the tables and writes bench/results/latest.md and latest.svg from a summary (summary.mjs).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chartSvg } from './svg.mjs';
import { REFS, fmt, fmtRatio } from './summary.mjs';

const fmtMs = (x) => (Number.isFinite(x) ? String(x) : '—');
const pct = (x) => (Number.isFinite(x) ? `${Math.max(0, x).toFixed(0)} %` : 'unknown');
const mark = (ok) => (ok ? '✓' : '✗');

function throughputTable(rows) {
  const head = [
    'Server / scenario',
    'calls/s (median)',
    'min–max',
    'p50 ms',
    'p99 ms',
    'server CPU µs/call',
    'response B',
    'valid runs',
    'errors / non-2xx',
  ];
  const body = rows.map((r) => [
    r.label,
    fmt(r.callsPerSec),
    r.validRuns ? `${fmt(r.min)}–${fmt(r.max)}` : '—',
    fmtMs(r.p50),
    fmtMs(r.p99),
    r.cpuUsPerCall === null ? '—' : r.cpuUsPerCall.toFixed(0),
    fmt(r.bytesPerCall),
    `${r.validRuns}/${r.validRuns + r.invalidRuns}`,
    `${r.errors} / ${r.non2xx}${r.invalidRuns ? ' ✗' : ''}`,
  ]);
  return [head, ...body];
}

function ratioTable(rows) {
  const head = ['Portcullis scenario', ...REFS.map(([, t]) => t)];
  const body = rows
    .filter((r) => r.kind === 'portcullis')
    .map((r) => [r.label, ...REFS.map(([ref]) => fmtRatio(r.ratios[ref]))]);
  return [head, ...body];
}

function md(table) {
  const [head, ...body] = table;
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

function text(table) {
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
  return table
    .map((row) => row.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '))
    .join('\n');
}

function scaleLines(s, ttfb) {
  const out = [];
  if (s) {
    const p = s.perSession;
    out.push(
      `- **Memory per idle 2025-era session** (${fmt(p.sessions)} open, one principal): ${fmt(p.heapBytesPerSession)} B of heap ` +
        `(${(p.heapBytesPerSession / 1024).toFixed(2)} KB); RSS ${fmt(p.rssBytesPerSession)} B; registry held ${fmt(p.registrySize)}; ` +
        `opened at ${fmt(p.opensPerSec)} sessions/s.`,
      `- **Heap after ${fmt(s.churn.cycles)} open/DELETE cycles**: ${(s.churn.heapBeforeBytes / 2 ** 20).toFixed(2)} MiB → ` +
        `${(s.churn.heapAfterBytes / 2 ** 20).toFixed(2)} MiB (${s.churn.heapDeltaPct.toFixed(1)} %; ` +
        `${s.churn.heapVsStartPct.toFixed(1)} % vs the heap before the ${fmt(s.perSession.sessions)}-session step); ` +
        `${fmt(s.churn.cyclesPerSec)} cycles/s; sessions left open: ${s.churn.sessionsLeftOpen}.`,
      ...s.audit.map(
        (a) =>
          `- **Audit, durable** (SQLite, group commit, \`commit()\` awaited): ${fmt(a.eventsPerSec)} events/s at ` +
          `${a.concurrency} concurrent commits (${fmt(a.committed)} events in ${fmt(a.batches)} batches, ` +
          `${a.failedBatches} failed).`,
      ),
    );
  } else out.push('- Scale measurements skipped (--no-scale).');
  if (ttfb) {
    out.push(
      `- **Legacy SSE time to first byte** (\`GET /mcp/sse\` → \`event: endpoint\`, fresh connection, ${ttfb.samples} samples): ` +
        `median ${ttfb.medianMs.toFixed(2)} ms, p90 ${ttfb.p90Ms.toFixed(2)} ms, max ${ttfb.maxMs.toFixed(2)} ms.`,
    );
  }
  return out.join('\n');
}

/** Group commit as the gateways saw it over the whole bench (from their /metrics). */
function auditLine(rows) {
  const with_ = rows.filter((r) => r.audit?.batches > 0);
  if (with_.length === 0) return '';
  const each = with_.map(
    (r) =>
      `${r.name} ${(r.audit.events / r.audit.batches).toFixed(1)} events/batch, ` +
      `${((r.audit.seconds / r.audit.batches) * 1000).toFixed(2)} ms per batch write`,
  );
  return `\nAudit batches (group commit, whole bench): ${each.join('; ')}.`;
}

export function writeReport(summary, dir) {
  const { rows, targets, facts, opt } = summary;
  const t = throughputTable(rows);
  const r = ratioTable(rows);
  const tt = [['Target', 'Measured on', 'Actual', ''], ...targets.map((x) => [x.target, x.on, x.actual, mark(x.ok)])];
  process.stdout.write(
    `\n${text(t)}\n\n${text(r)}\n\n${text(tt)}\n\n${scaleLines(summary.scale, summary.ttfb).replaceAll('**', '')}\n`,
  );

  const warnings = [];
  if (facts.build.startsWith('BUILD FAILED')) warnings.push(`**${facts.build}**`);
  if (facts.dirtySrcFiles)
    warnings.push(`src/ had ${facts.dirtySrcFiles} uncommitted change(s) when measured (commit ${facts.commit}).`);
  if (summary.invalidRuns)
    warnings.push(
      `**${summary.invalidRuns} run(s) had errors or non-2xx answers**; they are left out of the medians (✗ below).`,
    );
  if (facts.busyBeforePct > 10)
    warnings.push(
      `The machine was already using ${facts.busyBeforePct.toFixed(0)} % of a core before the bench started.`,
    );
  if (facts.foreignPct > 10)
    warnings.push(
      `Other processes used about ${facts.foreignPct.toFixed(0)} % of one core during the throughput runs: ` +
        'absolute figures are depressed; alternation spreads the effect over all servers.',
    );
  const doc = `# Portcullis benchmark — latest results

Generated by \`npm run bench\` on ${facts.date}. Method, scenarios and how to rerun: [bench/README.md](../README.md).

| Machine | |
|---|---|
| Node | ${facts.node} |
| CPU | ${facts.cpu}, ${facts.cores} cores, ${facts.memGiB} GiB |
| OS | ${facts.os} |
| Code | commit ${facts.commit}${facts.dirtySrcFiles ? ` + ${facts.dirtySrcFiles} uncommitted src/ file(s)` : ''}; build: ${facts.build} |
| Machine load | CPU in use just before start: ${pct(facts.busyBeforePct)} of one core; used by other processes during the runs: ${pct(facts.foreignPct)} of one core; load average ${facts.loadavgStart} → ${facts.loadavgEnd} |
| Load | autocannon, ${opt.connections} connections, ${opt.runs} alternating round(s) × (${opt.warmup} s warm-up + ${opt.duration} s measured) per server |
${warnings.length ? `\n> ${warnings.join('\n>\n> ')}\n` : ''}
## Throughput

${md(t)}

Medians over valid runs (a run with any error, timeout or non-2xx answer is invalid). p50/p99 are the medians of
each run's percentiles (the higher middle value for an even number of runs); autocannon's histogram keeps whole milliseconds, truncated (0 means under 1 ms, 9 means under 10 ms).
"server CPU µs/call" is the server process's user+system CPU time during the measured run divided by the calls it
answered: less sensitive than calls/s to the load generator sharing the two cores. "response B" is the mean response
size, headers included.

Every Portcullis \`tools/call\` is answered only after its audit event is committed to SQLite. Every row uses the
default \`audit.sqlite.synchronous: full\` (the WAL is fsynced at each batch's COMMIT: the event survives power loss),
except the one labelled \`synchronous=normal\` (fsync at checkpoints only: survives \`kill -9\`, not power loss).${auditLine(summary.rows)}

![calls/s per server and scenario](latest.svg)

## Ratios (same run)

${md(r)}

The \`tools/list\` row answers a listing of a few hundred tools per call; its ratios compare it with the references'
\`tools/call echo\` and show its cost — they are not like-for-like. The ratio targets below apply to the \`tools/call\` scenarios.

## Targets (issue 5)

${md(tt)}

## Scale

${scaleLines(summary.scale, summary.ttfb)}

## Every run

${md([
  ['Server', 'Run', 'calls/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'timeouts'],
  ...rows.flatMap((row) =>
    row.runs.map((x, i) => [row.name, i + 1, fmt(x.callsPerSec), x.p50, x.p99, x.errors, x.non2xx, x.timeouts]),
  ),
])}
`;
  mkdirSync(dir, { recursive: true });
  const mdFile = path.join(dir, 'latest.md');
  const svgFile = path.join(dir, 'latest.svg');
  writeFileSync(mdFile, doc);
  writeFileSync(svgFile, chartSvg(rows, facts, opt));
  return [path.relative(process.cwd(), mdFile), path.relative(process.cwd(), svgFile)];
}
