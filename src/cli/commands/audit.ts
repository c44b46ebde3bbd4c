/**
 * `portcullis audit tail|query|verify|export`: reads the audit store of a config read-only: its
 * PostgreSQL table when it has one, else its SQLite file (or `--db FILE`, `--store`). `verify`
 * walks every instance's hash chain and exits 1 at the first broken link (SEC-AUD-04, O-13);
 * everything printed is escaped again, since a tampered row could carry terminal escapes
 * (SEC-AUD-03, O-06).
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { GENESIS_HEAD, verifyChain } from '../../audit/chain.js';
import type { ChainVerdict } from '../../audit/chain.js';
import { escapeLogString } from '../../audit/escape.js';
import { eventToJsonLine } from '../../audit/jsonl.js';
import { PostgresAuditSource } from '../../audit/postgresReader.js';
import { SqliteAuditSource } from '../../audit/reader.js';
import type { AuditFilter, AuditSource, StoredEvent } from '../../audit/reader.js';
import type { AuditEvent } from '../../audit/types.js';
import { parseCommandArgs, parseDuration, usageError } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { COMMAND_HELP } from '../help.js';

const COMMON = {
  config: { type: 'string', short: 'c' },
  db: { type: 'string' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const FILTERS = {
  user: { type: 'string' },
  tenant: { type: 'string' },
  tool: { type: 'string' },
  outcome: { type: 'string' },
  event: { type: 'string' },
  instance: { type: 'string' },
} as const;
const RANGE = { since: { type: 'string' }, until: { type: 'string' } } as const;
const FORMAT = { format: { type: 'string' } } as const;

const OPTIONS = {
  tail: {
    ...COMMON,
    ...FILTERS,
    ...FORMAT,
    follow: { type: 'boolean', short: 'f' },
    lines: { type: 'string', short: 'n' },
  },
  query: { ...COMMON, ...FILTERS, ...RANGE, ...FORMAT, limit: { type: 'string' } },
  verify: { ...COMMON, instance: { type: 'string' } },
  export: { ...COMMON, ...FILTERS, ...RANGE, out: { type: 'string', short: 'o' } },
} as const;

/** `tail --follow` polls this often. */
const FOLLOW_INTERVAL_MS = 500;
const OUTCOMES = ['ok', 'error', 'denied'];

type Sub = keyof typeof OPTIONS;
type Flags = Readonly<Record<string, unknown>>;

/** Runs `portcullis audit <subcommand>`; resolves with the exit code. */
export async function runAudit(args: readonly string[], ctx: CliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    if (sub !== undefined) {
      ctx.stdout(COMMAND_HELP.audit);
      return 0;
    }
    ctx.stderr(COMMAND_HELP.audit);
    return 2;
  }
  if (!Object.hasOwn(OPTIONS, sub)) {
    throw usageError(`audit: unknown subcommand '${sub}' (tail, query, verify, export; see 'portcullis audit --help')`);
  }
  const name = sub as Sub;
  const flags: Flags = parseCommandArgs(`audit ${name}`, rest, OPTIONS[name]);
  if (flags.help === true) {
    ctx.stdout(COMMAND_HELP.audit);
    return 0;
  }
  const filter = parseFilter(flags, Date.now());
  const format = parseFormat(flags.format);
  const limit = name === 'query' ? (positiveInt(flags.limit, '--limit') ?? 100) : 0;
  const store = storeOf(ctx, flags);
  if (store.kind === 'sqlite' && !existsSync(store.file)) {
    ctx.stderr(`portcullis: no audit database at ${store.file} (has the gateway run with this config?)\n`);
    return 1;
  }
  const source =
    store.kind === 'sqlite' ? SqliteAuditSource.open(store.file) : await PostgresAuditSource.open(store.target);
  try {
    switch (name) {
      case 'verify':
        return await verify(source, ctx, filter.instance);
      case 'export':
        return await exportEvents(source, ctx, filter, str(flags.out));
      case 'query': {
        for (const row of await source.query({ ...filter, limit })) ctx.stdout(render(row.event, format));
        return 0;
      }
      case 'tail':
        return await tail(source, ctx, filter, format, flags);
    }
  } finally {
    await source.close();
  }
}

type Store =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly target: { readonly url: string; readonly table: string } };

/**
 * The store to read: `--db FILE`, else the config's PostgreSQL table (the one every gateway of a
 * cluster writes) or its SQLite file; `--store sqlite|postgres` picks one when it has both.
 */
function storeOf(ctx: CliContext, flags: Flags): Store {
  const db = str(flags.db);
  const wanted = str(flags.store);
  if (wanted !== undefined && wanted !== 'sqlite' && wanted !== 'postgres') {
    throw usageError(`--store: '${wanted}' is not sqlite or postgres`);
  }
  if (db !== undefined) {
    if (wanted === 'postgres') throw usageError('--db names a SQLite file; it cannot be used with --store postgres');
    return { kind: 'sqlite', file: path.resolve(ctx.cwd, db) };
  }
  const { audit } = loadCliConfig(ctx, { config: str(flags.config) }).config;
  if (audit.postgres && wanted !== 'sqlite') return { kind: 'postgres', target: audit.postgres };
  if (audit.sqlite && wanted !== 'postgres') return { kind: 'sqlite', file: audit.sqlite.path };
  throw usageError(
    wanted === undefined
      ? 'audit: the config has no SQLite or PostgreSQL audit store; name a SQLite file with --db'
      : `audit: the config has no ${wanted === 'sqlite' ? 'SQLite' : 'PostgreSQL'} audit store`,
  );
}

/** Verifies one instance's chain page by page, so a large store is never held in memory. */
async function verifyInstance(source: AuditSource, instance: string): Promise<ChainVerdict> {
  let head = GENESIS_HEAD;
  let count = 0;
  for await (const page of source.chainPages(instance)) {
    const verdict = verifyChain(page, head);
    if (!verdict.ok) return { ...verdict, count: count + verdict.count };
    head = verdict.head;
    count += verdict.count;
  }
  return { ok: true, count, head };
}

async function verify(source: AuditSource, ctx: CliContext, only: string | undefined): Promise<number> {
  const instances = only !== undefined ? [only] : await source.instances();
  if (instances.length === 0) ctx.stdout('audit chain OK: 0 events (the store is empty)\n');
  let broken = false;
  for (const instance of instances) {
    const verdict = await verifyInstance(source, instance);
    const where = `instance ${escapeLogString(instance)}`;
    if (verdict.ok) {
      ctx.stdout(`audit chain OK: ${verdict.count} events (${where})\n`);
    } else {
      broken = true;
      ctx.stdout(
        `audit chain BROKEN at seq ${verdict.seq} (id ${escapeLogString(verdict.id)}): ${verdict.reason} ` +
          `(${where}; ${verdict.count} events before it verified)\n  ${verdict.detail}\n`,
      );
    }
  }
  return broken ? 1 : 0;
}

async function exportEvents(
  source: AuditSource,
  ctx: CliContext,
  filter: AuditFilter,
  out: string | undefined,
): Promise<number> {
  const fd = out === undefined ? undefined : openSync(path.resolve(ctx.cwd, out), 'w', 0o600);
  const emit = (text: string): void => {
    if (fd === undefined) ctx.stdout(text);
    else writeSync(fd, text);
  };
  let count = 0;
  let chunk = '';
  try {
    for await (const page of source.pages(filter)) {
      for (const row of page) {
        chunk += eventToJsonLine(row.event);
        count += 1;
        if (chunk.length >= 64 * 1024) {
          emit(chunk);
          chunk = '';
        }
      }
    }
    emit(chunk);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  ctx.stderr(`exported ${count} events${out === undefined ? '' : ` to ${out}`}\n`);
  return 0;
}

async function tail(source: AuditSource, ctx: CliContext, filter: AuditFilter, format: Format, flags: Flags) {
  const n = positiveInt(flags.lines, '-n') ?? 20;
  // The follower starts before the tail is read, so nothing stored in between is missed.
  const follower = flags.follow === true ? await source.follow(filter) : undefined;
  const print = (rows: readonly StoredEvent[]): void => {
    for (const row of rows) ctx.stdout(render(row.event, format));
  };
  const last = await source.tail(filter, n);
  print(last);
  if (!follower) return 0;
  follower.seen(last);
  return new Promise<number>((resolve, reject) => {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const unsubscribe = ctx.onSignal(() => {
      stop();
      resolve(0);
    });
    // One poll at a time: the next is scheduled when the previous has printed.
    const next = (): void => {
      timer = setTimeout(() => {
        follower.poll().then(
          (rows) => {
            if (stopped) return;
            print(rows);
            next();
          },
          (err: unknown) => {
            stop();
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      }, FOLLOW_INTERVAL_MS);
    };
    next();
    function stop(): void {
      stopped = true;
      clearTimeout(timer);
      unsubscribe();
    }
  });
}

type Format = 'table' | 'json';

function parseFormat(value: unknown): Format {
  if (value === undefined || value === 'table' || value === 'json') return value ?? 'table';
  throw usageError(`--format: '${str(value) ?? ''}' is not table or json`);
}

/** One event for the terminal: a fixed-order line, every value escaped (O-06), or a JSON line. */
function render(e: AuditEvent, format: Format): string {
  if (format === 'json') return eventToJsonLine(e);
  const who = e.user === null ? '-' : `${e.user}${e.tenant === null ? '' : `@${e.tenant}`}`;
  const cells = [
    e.time,
    `${e.instance}#${e.seq}`,
    e.event.padEnd(22),
    who.padEnd(16),
    (e.tool ?? '-').padEnd(20),
    (e.outcome ?? '-').padEnd(6),
    e.latencyMs === null ? '-' : `${e.latencyMs}ms`,
    e.reason === null ? '' : `reason=${e.reason}`,
    e.requestId === null ? '' : `req=${e.requestId}`,
  ];
  return `${escapeLogString(cells.join('  ').trimEnd(), 4096)}\n`;
}

function parseFilter(flags: Flags, now: number): AuditFilter {
  const outcome = str(flags.outcome);
  if (outcome !== undefined && !OUTCOMES.includes(outcome)) {
    throw usageError(`--outcome: '${outcome}' is not one of ${OUTCOMES.join(', ')}`);
  }
  const keys = ['user', 'tenant', 'tool', 'event', 'instance'] as const;
  const since = parseTime(str(flags.since), '--since', now);
  const until = parseTime(str(flags.until), '--until', now);
  return {
    ...Object.fromEntries(keys.flatMap((k) => (typeof flags[k] === 'string' ? [[k, flags[k]]] : []))),
    ...(outcome !== undefined && { outcome }),
    ...(since !== undefined && { since }),
    ...(until !== undefined && { until }),
  };
}

/** `15m` / `-15m` (that long ago, units s m h d) or an ISO 8601 time; as stored (UTC ISO). */
export function parseTime(value: string | undefined, flag: string, now: number): string | undefined {
  if (value === undefined) return undefined;
  if (/^-?\d+[smhd]$/.test(value.trim())) {
    return new Date(now - parseDuration(value.trim().replace(/^-/, ''), flag) * 1000).toISOString();
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw usageError(`${flag}: '${value}' is not an ISO 8601 time or a duration like 15m`);
  return new Date(ms).toISOString();
}

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw usageError(`${flag}: '${str(value) ?? ''}' is not a positive integer`);
  return n;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
