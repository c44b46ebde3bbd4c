/**
 * The side-effect oracle: every execution of a counting tool (written down by `counter-tool.js`)
 * must come from a request of the fuzzer that carried a valid token of that principal and named
 * that tool (an admin's, confirmed, for the destructive one), with the tenant argument bound to
 * the principal's tenant, and must have its `tool.called` audit event (and `tool.intent` before
 * it, for the destructive one) in the gateway's SQLite trail. Every `ok` event must have its run.
 */
import Database from 'better-sqlite3';
import { PRINCIPALS } from '../helpers/gateway.js';
import { FUZZ_TOOLS } from './arbitraries.js';
import type { Who } from './arbitraries.js';

const EXECUTIONS = Symbol.for('portcullis.fuzz.executions');

interface Execution {
  /** Drains this execution has waited through for its request's answer. */
  waited?: number;
  tool: string;
  requestId: string;
  user: string;
  tenant: string;
  argTenant: unknown;
  confirm: unknown;
}

/** The executions recorded so far (shared with `counter-tool.js` through the global object). */
export function executions(): Execution[] {
  const g = globalThis as Record<symbol, unknown>;
  g[EXECUTIONS] ??= [];
  return g[EXECUTIONS] as Execution[];
}

/** What a confirmation retry carried: a state the gateway gave this principal for this call? */
export interface Confirmation {
  state: string;
  /** Minted by the gateway for this principal, tool and arguments. */
  legit: boolean;
  /** The answer is an accept with `confirm: true`. */
  accepts: boolean;
}

interface Attribution {
  who: Who | undefined;
  admin: boolean;
  tool: unknown;
  at: number;
  confirmation?: Confirmation | undefined;
}

export class ExecutionOracle {
  /** Requests whose body names a counting tool: correlation id → what they were allowed. */
  readonly #attributed = new Map<string, Attribution>();
  /** Requests whose answer never came (the client hung up): no correlation id to match on. */
  readonly #unanswered: Attribution[] = [];
  /** `requestState`s that have confirmed a run (each may confirm one). */
  readonly #spent = new Set<string>();
  #pending: Execution[] = [];
  #seen = 0;
  readonly #unmatchedCalls = new Set<string>();
  #lastRow = 0;
  readonly #events = new Map<
    string,
    { called?: { tool: string; user: string; tenant: string; outcome: string }; intent?: boolean }
  >();

  constructor(private readonly auditDb: string) {}

  /** Runs of the destructive tool confirmed by a user's answer (a `requestState` round trip). */
  get userConfirmed(): number {
    return this.#spent.size;
  }

  /** Notes what a request sent with this correlation id may cause. */
  attribute(requestId: string, body: Buffer, who: Who | undefined, admin: boolean, confirmation?: Confirmation): void {
    if (body.includes('fuzz_counter'))
      this.#attributed.set(requestId, { who, admin, tool: toolNameOf(body), at: Date.now(), confirmation });
  }

  /** Notes a request whose answer the client did not wait for. */
  attributeUnanswered(body: Buffer, who: Who | undefined, admin: boolean, confirmation?: Confirmation): void {
    if (body.includes('fuzz_counter'))
      this.#unanswered.push({ who, admin, tool: toolNameOf(body), at: Date.now(), confirmation });
  }

  /**
   * An execution whose request never got its answer: it must match a hung-up request of the same
   * valid principal naming the same tool (each used once), a weaker but still principal-bound link.
   */
  #fromUnanswered(x: Execution): Attribution | undefined {
    const candidates = this.#unanswered.filter((a) => {
      const p = a.who === undefined ? undefined : PRINCIPALS[a.who];
      return p?.sub === x.user && p.org === x.tenant && a.tool === x.tool;
    });
    // Several hung-up requests of this principal may name the tool; the one that could have run it
    // (an admin's, confirmed, for the destructive tool) is the one that did.
    const fits = (a: Attribution): boolean =>
      x.tool !== 'fuzz_counter_admin' ||
      (a.admin && (x.confirm === true || (a.confirmation?.legit === true && a.confirmation.accepts)));
    const pick = candidates.find(fits) ?? candidates[0];
    if (pick !== undefined) this.#unanswered.splice(this.#unanswered.indexOf(pick), 1);
    return pick;
  }

  /** Checks what ran since the last drain; `final` waits up to `waitMs` for late audit events. */
  async drain(final = false, waitMs = 15_000): Promise<string[]> {
    const v: string[] = [];
    const deadline = Date.now() + (final ? waitMs : 0);
    for (;;) {
      const all = executions();
      this.#pending.push(...all.slice(this.#seen));
      this.#seen = all.length;
      this.#readAudit();
      const still: Execution[] = [];
      const lastRound = !final || Date.now() > deadline;
      for (const x of this.#pending) {
        // Unattributed after a drain, or at the end (every answer is in by then): a hung-up request's.
        const late = final || (x.waited ?? 0) >= 1;
        const req = this.#attributed.get(x.requestId) ?? (late ? this.#fromUnanswered(x) : undefined);
        const ev = this.#events.get(x.requestId);
        const complete =
          req !== undefined && ev?.called !== undefined && (x.tool !== 'fuzz_counter_admin' || ev.intent);
        if (!complete) {
          if (req !== undefined && !this.#attributed.has(x.requestId)) this.#unanswered.push(req);
          still.push(x);
          continue;
        }
        this.#attributed.delete(x.requestId);
        this.#events.delete(x.requestId);
        const expected = req.who === undefined ? undefined : PRINCIPALS[req.who];
        const desc = `${x.tool} ran for ${x.user}@${x.tenant} (ref ${x.requestId})`;
        if (!expected) v.push(`${desc} on a request without a valid principal`);
        else if (expected.sub !== x.user || expected.org !== x.tenant) v.push(`${desc} on ${expected.sub}'s request`);
        if (x.argTenant !== x.tenant) v.push(`${desc} with tenant argument ${JSON.stringify(x.argTenant)}`);
        if (req.tool !== x.tool) v.push(`${desc} for a request naming ${JSON.stringify(req.tool)}`);
        if (x.tool === 'fuzz_counter_admin' && !req.admin) v.push(`${desc}, an admin tool, for a non-admin`);
        if (x.tool === 'fuzz_counter_admin' && x.confirm !== true) {
          // Without the model's flag, only the user's accept of a state minted for this call, once.
          const c = req.confirmation;
          if (!c || !c.legit || !c.accepts) {
            const what = !c
              ? 'no requestState'
              : !c.legit
                ? `requestState ${c.state.slice(0, 24)}… not minted for it`
                : 'no accept';
            v.push(`${desc}, a destructive tool, without a valid confirmation (${what})`);
          } else if (this.#spent.has(c.state)) v.push(`${desc}, confirmed by a requestState already used`);
          else this.#spent.add(c.state);
        }
        const c = ev.called!;
        if (c.tool !== x.tool || c.user !== x.user || c.tenant !== x.tenant) {
          v.push(`${desc} but its tool.called names ${c.tool} for ${c.user}@${c.tenant}`);
        }
      }
      this.#pending = still;
      if (!final || this.#pending.length === 0 || lastRound) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (final) {
      for (const x of this.#pending) {
        const why = !this.#attributed.has(x.requestId)
          ? 'that no request of the fuzzer can account for'
          : 'without its tool.called (or tool.intent) audit event';
        v.push(`${x.tool} ran for ${x.user}@${x.tenant} (ref ${x.requestId}) ${why}`);
      }
    }
    // An ok event for a counting tool must have its execution (given one drain to show up); an
    // event of a call refused before its handler has none. Intent-only entries wait for their call.
    const pendingIds = new Set(this.#pending.map((x) => x.requestId));
    for (const [rid, e] of this.#events) {
      if (pendingIds.has(rid) || e.called === undefined) continue;
      if (e.called.outcome !== 'ok') {
        this.#events.delete(rid);
      } else if (this.#unmatchedCalls.has(rid) || final) {
        v.push(`tool.called ok for ${e.called.tool} (ref ${rid}) that never ran`);
        this.#events.delete(rid);
        this.#unmatchedCalls.delete(rid);
      } else {
        this.#unmatchedCalls.add(rid);
      }
    }
    for (const rid of this.#unmatchedCalls) if (!this.#events.has(rid)) this.#unmatchedCalls.delete(rid);
    const horizon = Date.now() - 120_000;
    for (const [rid, a] of this.#attributed) if (a.at < horizon) this.#attributed.delete(rid);
    while ((this.#unanswered[0]?.at ?? Infinity) < horizon) this.#unanswered.shift();
    for (const x of this.#pending) x.waited = (x.waited ?? 0) + 1;

    return v;
  }

  #readAudit(): void {
    const db = new Database(this.auditDb, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          `SELECT row_id, event, request_id, tool, user, tenant, outcome FROM audit_events
           WHERE row_id > ? AND event IN ('tool.called', 'tool.intent') AND tool IN (${FUZZ_TOOLS.map(() => '?').join(', ')})
           ORDER BY row_id`,
        )
        .all(this.#lastRow, ...FUZZ_TOOLS) as {
        row_id: number;
        event: string;
        request_id: string;
        tool: string;
        user: string;
        tenant: string;
        outcome: string;
      }[];
      for (const r of rows) {
        this.#lastRow = r.row_id;
        const e = this.#events.get(r.request_id) ?? {};
        if (r.event === 'tool.intent') e.intent = true;
        else e.called = { tool: r.tool, user: r.user, tenant: r.tenant, outcome: r.outcome };
        this.#events.set(r.request_id, e);
      }
    } finally {
      db.close();
    }
  }
}

/** The tool a body names, read as the gateway reads it (strict UTF-8, BOM dropped; last duplicate wins). */
function toolNameOf(body: Buffer): unknown {
  try {
    const msg: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    if (msg === null || typeof msg !== 'object') return undefined;
    const params = (msg as Record<string, unknown>).params;
    return params !== null && typeof params === 'object' ? (params as Record<string, unknown>).name : undefined;
  } catch {
    return undefined;
  }
}
