// A hand-made horizontal bar chart of calls/s per server (median, with the min–max of the runs).
const COLORS = { floor: '#4b5563', reference: '#9ca3af', portcullis: '#2563eb', list: '#60a5fa' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function niceStep(max) {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
}

export function chartSvg(rows, facts, opt) {
  const W = 980;
  const L = 330; // label column
  const R = 190; // value column
  const top = 78;
  const rowH = 34;
  const barH = 20;
  const gap = 14; // between references and Portcullis
  const plotW = W - L - R;
  const valid = rows.filter((r) => Number.isFinite(r.callsPerSec));
  const max = Math.max(1, ...valid.map((r) => Math.max(r.max, r.callsPerSec))) * 1.02;
  const step = niceStep(max);
  const top2 = Math.ceil(max / step) * step;
  const x = (v) => L + (v / top2) * plotW;
  const firstPc = rows.findIndex((r) => r.kind === 'portcullis');
  const y = (i) => top + i * rowH + (firstPc >= 0 && i >= firstPc ? gap : 0);
  const plotBottom = y(rows.length - 1) + rowH;
  const H = plotBottom + 78;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="30" font-size="18" font-weight="bold">MCP gateway throughput: calls/s (higher is better)</text>`,
    `<text x="20" y="52" fill="#374151">${esc(
      `Median of ${opt.runs} alternating runs, ${opt.connections} connections, ${opt.duration} s each; ` +
        `${facts.cpu}, ${facts.cores} cores, Node ${facts.node}; ${facts.date.slice(0, 10)}`,
    )}</text>`,
  );
  // Grid and axis.
  for (let v = 0; v <= top2 + 1e-9; v += step) {
    out.push(
      `<line x1="${x(v)}" y1="${top - 8}" x2="${x(v)}" y2="${plotBottom}" stroke="#e5e7eb"/>`,
      `<text x="${x(v)}" y="${plotBottom + 16}" text-anchor="middle" fill="#6b7280" font-size="11">${v >= 1000 ? `${v / 1000}k` : v}</text>`,
    );
  }
  out.push(`<line x1="${L}" y1="${top - 8}" x2="${L}" y2="${plotBottom}" stroke="#6b7280"/>`);
  // Target: 60 % of the raw floor.
  const raw = rows.find((r) => r.name === 'raw');
  if (raw && Number.isFinite(raw.callsPerSec)) {
    const tx = x(0.6 * raw.callsPerSec);
    out.push(
      `<line x1="${tx}" y1="${top - 12}" x2="${tx}" y2="${plotBottom}" stroke="#dc2626" stroke-dasharray="5,4"/>`,
      `<text x="${tx + 4}" y="${top - 14}" fill="#dc2626" font-size="11">target: 60 % of raw floor (${fmt(0.6 * raw.callsPerSec)}/s)</text>`,
    );
  }
  rows.forEach((r, i) => {
    const cy = y(i) + rowH / 2;
    const color =
      r.kind === 'portcullis' ? (r.method === 'tools/list' ? COLORS.list : COLORS.portcullis) : COLORS[r.kind];
    out.push(`<text x="${L - 10}" y="${cy + 4}" text-anchor="end">${esc(r.label)}</text>`);
    if (!Number.isFinite(r.callsPerSec)) {
      out.push(
        `<text x="${L + 8}" y="${cy + 4}" fill="#dc2626" font-weight="bold">invalid: every run had errors</text>`,
      );
      return;
    }
    const w = Math.max(1, x(r.callsPerSec) - L);
    out.push(`<rect x="${L}" y="${cy - barH / 2}" width="${w.toFixed(1)}" height="${barH}" fill="${color}" rx="2"/>`);
    if (r.max > r.min) {
      const [a, b] = [x(r.min), x(r.max)];
      out.push(
        `<line x1="${a}" y1="${cy}" x2="${b}" y2="${cy}" stroke="#111827"/>`,
        `<line x1="${a}" y1="${cy - 5}" x2="${a}" y2="${cy + 5}" stroke="#111827"/>`,
        `<line x1="${b}" y1="${cy - 5}" x2="${b}" y2="${cy + 5}" stroke="#111827"/>`,
      );
    }
    const note = `${fmt(r.callsPerSec)}/s · p99 ${r.p99} ms${r.invalidRuns ? ` · ${r.invalidRuns} invalid run(s)` : ''}`;
    out.push(
      `<text x="${Math.max(x(r.callsPerSec), x(r.max)) + 8}" y="${cy + 4}" paint-order="stroke" stroke="#ffffff" stroke-width="4" fill="${r.invalidRuns ? '#dc2626' : '#111827'}">${esc(note)}</text>`,
    );
  });
  // Legend.
  const ly = plotBottom + 44;
  const legend = [
    [COLORS.floor, 'raw node:http floor'],
    [COLORS.reference, 'MCP SDK / framework references'],
    [COLORS.portcullis, 'Portcullis tools/call (full pipeline)'],
    [COLORS.list, 'Portcullis tools/list'],
  ];
  let lx = 20;
  for (const [c, t] of legend) {
    out.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${c}"/>`,
      `<text x="${lx + 18}" y="${ly}">${esc(t)}</text>`,
    );
    lx += 40 + t.length * 7.3;
  }
  out.push(
    `<text x="20" y="${ly + 22}" fill="#6b7280" font-size="11">Whiskers: min–max of the runs. Each server in its own process on loopback; load from autocannon on the same machine.</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
