/**
 * Helpers of the input, denial-of-service and raw-socket security tests: bytes written straight
 * to a socket (where `fetch` would normalise or refuse the request), and a gateway with server
 * settings of the test's choosing plus in-process test tools — a strict argument schema that
 * counts its runs, a call that waits on a gate, a chatty progress reporter and a large result.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_CONFIG, startGateway } from '../../helpers/gateway.js';
import type { StartOptions, TestGateway } from '../../helpers/gateway.js';

export interface RawAnswer {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** The status of the first response, if one came. */
  status: number | undefined;
  /** True when the server closed the connection before `waitMs`. */
  closed: boolean;
}

export interface RawOptions {
  /** How long to wait for the server to close before giving up (the answer is then `closed: false`). */
  waitMs?: number;
  /** After the chunks, these bytes one at a time, `everyMs` apart (a slowloris trickle). */
  trickle?: { bytes: string | Buffer; everyMs: number };
  /** Resolve as soon as this much text has arrived (keep-alive answers leave the socket open). */
  until?: (text: string) => boolean;
}

/** Writes `chunks` to a fresh connection and collects what comes back until the server closes. */
export function rawExchange(port: number, chunks: (string | Buffer)[], opts: RawOptions = {}): Promise<RawAnswer> {
  const { waitMs = 5000, trickle: slow, until } = opts;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let trickle: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(trickle);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: m ? Number(m[1]) : undefined, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (until?.(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
      if (!slow) return;
      const bytes = typeof slow.bytes === 'string' ? Buffer.from(slow.bytes, 'latin1') : slow.bytes;
      let i = 0;
      trickle = setInterval(() => {
        if (i < bytes.length && !socket.destroyed) socket.write(bytes.subarray(i, ++i));
      }, slow.everyMs);
    });
  });
}

/** A connection kept open by the test (a reader that stops reading, a stream left idle). */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The request head of a POST to `path` with the given header lines (each without CRLF). */
export function postHead(port: number, path: string, lines: readonly string[]): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

/** Shared state of the test tools (they run in this process, loaded as a `module: {file}` backend). */
export interface RawToolState {
  /** Runs of `sec_probe`. */
  probe: number;
  /** Runs of `sec_slow` started. */
  slowStarted: number;
  /** The gate `sec_slow` waits on; `openGate()` releases every waiting call. */
  gate: { promise: Promise<void>; open: () => void } | undefined;
  /** The last `sec_chatty` run. */
  chatty: { sent: number; aborted: boolean; done: boolean } | undefined;
}

const STATE_KEY = '__portcullisRawTools';

export function toolState(): RawToolState {
  const g = globalThis as Record<string, unknown>;
  g[STATE_KEY] ??= { probe: 0, slowStarted: 0, gate: undefined, chatty: undefined };
  return g[STATE_KEY] as RawToolState;
}

/** Releases every `sec_slow` call waiting now; later calls wait on a new gate. */
export function openGate(): void {
  const s = toolState();
  s.gate?.open();
  s.gate = undefined;
}

const MODULE = `
const state = (globalThis.${STATE_KEY} ??= { probe: 0, slowStarted: 0, gate: undefined, chatty: undefined });
const text = (t) => ({ content: [{ type: 'text', text: t }] });
export function probe() {
  state.probe++;
  return text('probed');
}
export async function slow(args, ctx) {
  state.slowStarted++;
  if (!state.gate) {
    let open;
    const promise = new Promise((r) => (open = r));
    state.gate = { promise, open };
  }
  await Promise.race([state.gate.promise, new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }))]);
  return text('slow done');
}
export async function chatty(args, ctx) {
  const run = { sent: 0, aborted: false, done: false };
  state.chatty = run;
  const message = 'x'.repeat(64 * 1024);
  for (let i = 0; i < args.count; i++) {
    if (ctx.signal.aborted) {
      run.aborted = true;
      break;
    }
    ctx.progress(i, args.count, message);
    run.sent++;
    await new Promise((r) => setImmediate(r));
  }
  run.done = true;
  return text('sent ' + run.sent);
}
export function big(args) {
  return text('y'.repeat(args.kb * 1024));
}
`;

const TOOLS_YAML = `
  - name: sec_probe
    description: Counts its runs; a strict schema for the input tests.
    input:
      type: object
      required: [flag]
      properties:
        flag: { type: boolean }
        limit: { type: integer, minimum: 1, maximum: 100 }
        ids: { type: array, maxItems: 8, items: { type: string, maxLength: 16 } }
        amount: { type: number, minimum: 0, maximum: 1000000 }
        email: { type: string, maxLength: 254, format: email }
        code: { type: string, maxLength: 64, pattern: '^(a+)+$' }
        note: { type: string, maxLength: 1000 }
        blob: { type: string, maxLength: 1000000 }
    roles: [user, admin]
    readOnly: true
    module: { file: MODULE_PATH, export: probe }
  - name: sec_slow
    description: Waits until the test opens its gate, or the call is cancelled.
    input: { type: object, properties: {} }
    roles: [user, admin]
    readOnly: true
    timeoutMs: 20000
    module: { file: MODULE_PATH, export: slow }
  - name: sec_chatty
    description: Sends count progress notifications of 64 KiB each.
    input: { type: object, required: [count], properties: { count: { type: integer, minimum: 1, maximum: 10000 } } }
    roles: [user, admin]
    readOnly: true
    timeoutMs: 20000
    module: { file: MODULE_PATH, export: chatty }
  - name: sec_big
    description: Returns kb KiB of text.
    input: { type: object, required: [kb], properties: { kb: { type: integer, minimum: 1, maximum: 4096 } } }
    roles: [user, admin]
    readOnly: true
    module: { file: MODULE_PATH, export: big }
`;

export interface RawGatewayOptions extends Omit<StartOptions, 'configFile'> {
  /** Extra `server:` keys, as YAML lines indented by two spaces (e.g. `  headersTimeoutMs: 1000`). */
  server?: string;
  /** Extra tools, as YAML list items indented by two spaces (added to the top-level `tools:`). */
  tools?: string;
}

export interface RawGateway extends TestGateway {
  /** The SQLite audit file. */
  auditFile: string;
}

const SERVER_LINE = '  port: 3000\n';

/** The demo gateway plus `sec_probe`, `sec_slow`, `sec_chatty` and `sec_big`, with `server` settings added. */
export async function startRawGateway(opts: RawGatewayOptions = {}): Promise<RawGateway> {
  const { server = '', tools = '', ...start } = opts;
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-raw-'));
  const modulePath = path.join(dir, 'tools.mjs');
  writeFileSync(modulePath, MODULE);
  const demo = readFileSync(DEMO_CONFIG, 'utf8');
  if (!demo.includes(SERVER_LINE) || !demo.includes('\ntools:\n')) {
    throw new Error('the demo config no longer has the expected server block or tools list');
  }
  const configFile = path.join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    demo
      .replace(SERVER_LINE, () => `${SERVER_LINE}${server === '' ? '' : `${server.trimEnd()}\n`}`)
      .replace(
        '\ntools:\n',
        () => `\ntools:${TOOLS_YAML.replaceAll('MODULE_PATH', JSON.stringify(modulePath))}${tools}\n`,
      ),
  );
  let gw: TestGateway;
  try {
    gw = await startGateway({ ...start, configFile });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...gw,
    auditFile: path.join(gw.dir, 'audit.sqlite'),
    close: async () => {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
