/**
 * fast-check arbitraries for the HTTP + JSON-RPC entry. An input is symbolic (which principal's
 * token, which session, which header mutation), so it replays and shrinks the same way against
 * any gateway started by `target.ts`, which turns it into bytes on the wire.
 *
 * Shapes covered: the three eras (2026-07-28 stateless POST /mcp with `_meta` and the
 * Mcp-Method/Mcp-Name/MCP-Protocol-Version headers; 2025 Streamable HTTP with Mcp-Session-Id;
 * 2024 HTTP+SSE POST /mcp/messages?sessionId=…), envelopes built from the real method and tool
 * names with mutated fields, hostile values (prototype keys, deep nesting, lone surrogates,
 * unsafe numbers), raw byte mutations of the serialised body, and header/credential mutations.
 */
import fc from 'fast-check';
import { framing } from './socket.js';
import type { Framing } from './socket.js';

export const PRINCIPAL_NAMES = ['alice', 'bob', 'carol', 'dave'] as const;
export type Who = (typeof PRINCIPAL_NAMES)[number];

/** Credentials a request can carry; `target.ts` knows which of them name a valid principal. */
export const AUTH_KINDS = [
  'alice_as_admin',
  'carol_scoped',
  'lowercase_scheme',
  'expired',
  'not_yet_valid',
  'wrong_secret',
  'wrong_audience',
  'wrong_issuer',
  'alg_none',
  'alg_hs512',
  'no_tenant_claim',
  'roles_not_array',
  'bad_subject',
  'exp_as_string',
  'garbage_jwt',
  'empty_bearer',
  'scheme_only',
  'basic',
  'two_headers_same',
  'two_headers_mixed',
  'token_in_query',
  'too_long',
  'double_space',
  'none',
] as const;
export type AuthKind = Who | (typeof AUTH_KINDS)[number];

export const METHODS = [
  'tools/call',
  'tools/list',
  'initialize',
  'ping',
  'server/discover',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'resources/list',
  'resources/read',
  'prompts/get',
  'completion/complete',
  'tasks/get',
] as const;

export const FUZZ_TOOLS = ['fuzz_counter', 'fuzz_counter_admin'] as const;
export const TOOL_NAMES = [
  ...FUZZ_TOOLS,
  'get_user_profile',
  'list_invoices',
  'create_support_ticket',
  'refund_payment',
  'deprovision_tenant',
  'get_tenant_usage',
  'test_simple_text',
  'test_error_handling',
  'test_param_header',
  'test_missing_capability',
  'test_tool_with_progress',
  'test_logging_tool',
] as const;

export const PV_KEY = 'io.modelcontextprotocol/protocolVersion';
export const CAPS_KEY = 'io.modelcontextprotocol/clientCapabilities';
export const LOG_KEY = 'io.modelcontextprotocol/logLevel';

/** Where the request goes, and with which HTTP method. */
export type Route =
  | { kind: 'modern' }
  | { kind: 'streamable' }
  | { kind: 'sse_message' }
  | { kind: 'sse_open' }
  | { kind: 'stream_get' }
  | { kind: 'delete' }
  | { kind: 'odd'; method: string; path: string };

export type SessionChoice = 'own' | 'other_principal' | 'other_era' | 'random' | 'garbage' | 'dead' | 'none' | 'dup';

/** A header that mirrors the body, or a mutation of it. */
export type Mirror = 'match' | 'missing' | 'dup' | { value: string };
export type NameMirror = Mirror | 'base64' | 'bad_base64';

export interface HeaderSpec {
  contentType: string | undefined;
  accept: string | undefined;
  protocolVersion: Mirror;
  mcpMethod: Mirror;
  mcpName: NameMirror;
  origin: string | undefined;
  host: string | undefined;
  contentEncoding: string | undefined;
  extra: [string, string][];
}

export type RawMutation =
  | { kind: 'none' }
  | { kind: 'set_byte'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'dup_key'; text: string }
  | { kind: 'bom' }
  | { kind: 'batch'; copies: number }
  | { kind: 'replace'; text: string };

export interface FuzzInput {
  route: Route;
  auth: AuthKind;
  session: SessionChoice;
  /** Seeds for the `random` and `garbage` session choices. */
  sessionSeed: string;
  message: unknown;
  headers: HeaderSpec;
  raw: RawMutation;
  chunked: boolean;
  /** Present: written on a raw socket with this framing instead of through undici. */
  framing?: Framing;
  /** Present: the client hangs up this many ms after sending (cancellation paths). */
  abortMs?: number;
  /** Present: a 2026 confirmation retry (`requestState` + `inputResponses`) added to a `tools/call`. */
  retry?: Retry;
}

/**
 * Which `requestState` a retry echoes: one the gateway gave this principal (`captured`, replayable),
 * another principal's, one with a character changed, or a made-up one; `sameArgs` repeats the
 * original call's tool and arguments (else the input's own are kept).
 */
export interface Retry {
  state: 'captured' | 'other_principal' | 'flipped' | 'made_up';
  pick: number;
  sameArgs: boolean;
  answer: unknown;
}

/** An object whose keys are own, enumerable data properties even when named `__proto__`. */
function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const loneSurrogate = fc.constantFrom('\ud800', '\udfff', 'a\ud83dz', '\udc00\ud800');
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 2, arbitrary: loneSurrogate },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      'acme',
      'globex',
      'alice',
      '../../etc/passwd',
      '\u0000',
      '<script>',
      '%00',
      '${env:HOME}',
      'a'.repeat(300),
      '\u202e',
    ),
  },
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, Number.MAX_SAFE_INTEGER, 5e-324),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const key = fc.oneof(
  { weight: 12, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty') },
  { weight: 1, arbitrary: loneSurrogate },
);

/** Any JSON-ish value with hostile leaves and keys, nested up to `depth`. */
const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    hostileString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map(objectOf),
  ),
}));

/** Usually no extra members; sometimes one or two with hostile keys or values. */
const extraMembers = fc.oneof(
  { weight: 8, arbitrary: fc.constant<[string, unknown][]>([]) },
  { weight: 1, arbitrary: fc.array(fc.tuple(key, hostileValue), { minLength: 1, maxLength: 2 }) },
);

/** `depth` levels of `{"a": …}` or `[…]` around a leaf: over and under the depth limit (32). */
const nested = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

const id = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 1_000_000 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 16 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      -1,
      1.5,
      2 ** 53,
      -(2 ** 53) - 2,
      1e300,
      'x'.repeat(129),
      '',
      [],
      {},
      { a: 1 },
    ),
  },
  { weight: 1, arbitrary: loneSurrogate },
);

/** Arguments a counting tool accepts (the tenant is filled in by the gateway). */
const validCounterArgs = fc.record(
  {
    n: fc.integer({ min: 0, max: 100 }),
    note: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 8 }), loneSurrogate),
    confirm: fc.constant(true),
  },
  { requiredKeys: ['confirm'] },
);

const mutatedCounterArgs = fc
  .record(
    {
      tenantId: fc.oneof(fc.constantFrom('acme', 'globex'), hostileString, hostileNumber),
      n: fc.oneof(fc.integer({ min: 0, max: 100 }), hostileNumber, hostileString),
      note: fc.oneof(fc.string({ maxLength: 40 }), hostileString, hostileValue),
      confirm: fc.oneof(fc.constant(true), fc.constantFrom<unknown>(false, 'true', 1, null)),
    },
    { requiredKeys: [] },
  )
  .chain((args) =>
    extraMembers.map((extra) => (extra.length === 0 ? args : objectOf([...Object.entries(args), ...extra]))),
  );

const counterArgs = fc.oneof({ weight: 3, arbitrary: validCounterArgs }, { weight: 2, arbitrary: mutatedCounterArgs });

const demoArgs = fc.record(
  {
    userId: fc.oneof(fc.constantFrom('alice', 'bob', 'carol'), hostileString),
    tenantId: fc.oneof(fc.constantFrom('acme', 'globex'), hostileString),
    paymentId: fc.constantFrom('pay_1001', 'pay_2001', 'nope'),
    subject: hostileString,
    body: hostileString,
    status: fc.constantFrom('open', 'paid', 'refunded', 'x'),
    limit: hostileNumber,
    region: hostileString,
    confirm: fc.boolean(),
  },
  { requiredKeys: [] },
);

const args = fc.oneof(
  { weight: 10, arbitrary: counterArgs },
  { weight: 3, arbitrary: demoArgs },
  { weight: 1, arbitrary: hostileValue },
  { weight: 1, arbitrary: nested },
);

const toolName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...FUZZ_TOOLS) },
  { weight: 5, arbitrary: fc.constantFrom(...TOOL_NAMES) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(
      '',
      'FUZZ_COUNTER',
      'fuzz_counter ',
      'fuzz_counter\u0000',
      null,
      42,
      ['fuzz_counter'],
      {
        name: 'fuzz_counter',
      },
    ),
  },
  { weight: 1, arbitrary: hostileString },
);

const meta = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          version: fc.oneof(
            { weight: 8, arbitrary: fc.constant<unknown>('2026-07-28') },
            {
              weight: 2,
              arbitrary: fc.constantFrom<unknown>(
                '2025-11-25',
                '2024-11-05',
                '2099-01-01',
                '',
                20260728,
                null,
                'DRAFT',
              ),
            },
          ),
          caps: fc.oneof(
            { weight: 8, arbitrary: fc.constant<unknown>({}) },
            {
              weight: 2,
              arbitrary: fc.constantFrom<unknown>(
                undefined,
                null,
                [],
                'all',
                { sampling: {} },
                { elicitation: { form: {} } },
              ),
            },
          ),
          logLevel: fc.oneof(
            { weight: 8, arbitrary: fc.constant(undefined) },
            { weight: 2, arbitrary: fc.constantFrom<unknown>('debug', 'error') },
            { weight: 1, arbitrary: fc.constantFrom<unknown>('loud', 7, null) },
          ),
          progressToken: fc.oneof(
            { weight: 8, arbitrary: fc.constant(undefined) },
            {
              weight: 2,
              arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant<unknown>({ t: 1 })),
            },
          ),
          extra: extraMembers,
        },
        { requiredKeys: ['version', 'caps', 'logLevel', 'progressToken', 'extra'] },
      )
      .map((m) =>
        objectOf([
          ...(m.version === undefined ? [] : [[PV_KEY, m.version] as const]),
          ...(m.caps === undefined ? [] : [[CAPS_KEY, m.caps] as const]),
          ...(m.logLevel === undefined ? [] : [[LOG_KEY, m.logLevel] as const]),
          ...(m.progressToken === undefined ? [] : [['progressToken', m.progressToken] as const]),
          ...m.extra,
        ]),
      ),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, [], 'meta', { [PV_KEY]: '2026-07-28' }) },
  { weight: 1, arbitrary: hostileValue },
);

/** Params for one method; `withMeta` adds a 2026 `_meta` (or a mutation of one). */
function paramsFor(method: string, withMeta: boolean): fc.Arbitrary<unknown> {
  let base: fc.Arbitrary<Record<string, unknown>>;
  switch (method) {
    case 'tools/call':
      base = fc.record({ name: toolName, arguments: args }, { requiredKeys: ['name'] });
      break;
    case 'initialize':
      base = fc.record(
        {
          protocolVersion: fc.constantFrom<unknown>('2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '1999', 5),
          capabilities: fc.oneof(fc.constant<unknown>({}), hostileValue),
          clientInfo: fc.constant<unknown>({ name: 'fuzz', version: '1' }),
        },
        { requiredKeys: [] },
      );
      break;
    case 'logging/setLevel':
      base = fc.record({ level: fc.constantFrom<unknown>('debug', 'info', 'emergency', 'loud', null) });
      break;
    case 'tools/list':
      base = fc.record({ cursor: fc.constantFrom<unknown>('abc', null, 1) }, { requiredKeys: [] });
      break;
    case 'resources/read':
      base = fc.record({ uri: fc.constantFrom<unknown>('file:///etc/passwd', 'demo://x', 3) });
      break;
    case 'prompts/get':
      base = fc.record({ name: fc.string({ maxLength: 8 }) });
      break;
    case 'notifications/cancelled':
      base = fc.record({ requestId: id, reason: hostileString }, { requiredKeys: [] });
      break;
    default:
      base = fc.dictionary(fc.string({ maxLength: 6 }), hostileValue, { maxKeys: 2 });
  }
  const extra = extraMembers;
  return fc
    .tuple(base, withMeta ? meta.map((m) => [m] as const) : fc.constant([] as const), extra)
    .map(([b, m, x]) => objectOf([...Object.entries(b), ...(m.length > 0 ? [['_meta', m[0]] as const] : []), ...x]));
}

const methodName = fc.oneof(
  { weight: 10, arbitrary: fc.constant('tools/call') },
  { weight: 6, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(300), 'TOOLS/CALL', 'rpc.discover', 'tools/call\u0000') },
);

/** A JSON-RPC envelope with its fields present, absent or mistyped. */
function envelope(withMeta: boolean): fc.Arbitrary<unknown> {
  return methodName.chain((method) =>
    fc
      .record(
        {
          jsonrpc: fc.oneof(
            { weight: 20, arbitrary: fc.constant<unknown>('2.0') },
            { weight: 1, arbitrary: fc.constantFrom<unknown>('1.0', 2, null, '2.0 ') },
          ),
          id: fc.oneof({ weight: 12, arbitrary: id }, { weight: 1, arbitrary: fc.constant(undefined) }),
          params: fc.oneof(
            { weight: 12, arbitrary: paramsFor(method, withMeta) },
            { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, [], 'p', 1) },
          ),
          result: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileValue }),
          extra: fc.oneof(
            { weight: 20, arbitrary: fc.constant<[string, unknown][]>([]) },
            { weight: 1, arbitrary: extraMembers },
          ),
          dropMethod: fc.oneof(
            { weight: 20, arbitrary: fc.constant(false) },
            { weight: 1, arbitrary: fc.constant(true) },
          ),
        },
        { requiredKeys: ['jsonrpc', 'id', 'params', 'result', 'extra', 'dropMethod'] },
      )
      .map((e) => {
        // A notification has no id, whatever the generator chose.
        const isNotification = method.startsWith('notifications/');
        const entries: [string, unknown][] = [['jsonrpc', e.jsonrpc]];
        if (!isNotification && e.id !== undefined) entries.push(['id', e.id]);
        if (!e.dropMethod) entries.push(['method', method]);
        if (e.params !== undefined) entries.push(['params', e.params]);
        if (e.result !== undefined) entries.push(['result', e.result]);
        return objectOf([...entries.filter(([, v]) => v !== undefined), ...e.extra]);
      }),
  );
}

/** A well-formed request or notification (its params may still be hostile). */
function cleanEnvelope(withMeta: boolean): fc.Arbitrary<unknown> {
  return methodName.chain((method) =>
    // Small ids collide between runners sharing a session ("Request id already in use").
    fc
      .tuple(
        fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 3 })),
        paramsFor(method, withMeta),
      )
      .map(([n, params]) =>
        method.startsWith('notifications/')
          ? { jsonrpc: '2.0', method, params }
          : { jsonrpc: '2.0', id: n, method, params },
      ),
  );
}

/** A response message (the client answering a server request nobody sent). */
const responseMessage = fc.record({ jsonrpc: fc.constant('2.0'), id, result: hostileValue });

const mirror = (values: string[]): fc.Arbitrary<Mirror> =>
  fc.oneof(
    { weight: 24, arbitrary: fc.constant<Mirror>('match') },
    { weight: 1, arbitrary: fc.constantFrom<Mirror>('missing', 'dup') },
    { weight: 1, arbitrary: fc.constantFrom(...values).map((value): Mirror => ({ value })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((value): Mirror => ({ value })) },
  );

const headerSpec: fc.Arbitrary<HeaderSpec> = fc.record({
  contentType: fc.oneof(
    { weight: 30, arbitrary: fc.constant<string | undefined>('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | undefined>(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/json;charset=latin1',
        'text/plain',
        'application/jsonx',
        'application/json-patch+json',
        'multipart/form-data; boundary=x',
        '',
        undefined,
      ),
    },
  ),
  accept: fc.oneof(
    { weight: 30, arbitrary: fc.constant<string | undefined>('application/json, text/event-stream') },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | undefined>(
        'application/json',
        'text/event-stream',
        '*/*',
        'text/html',
        'application/json;q=0, text/event-stream;q=0',
        '',
        undefined,
      ),
    },
  ),
  protocolVersion: mirror(['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2099-12-31', '']),
  mcpMethod: mirror(['tools/call', 'tools/list', 'initialize', 'TOOLS/CALL']),
  mcpName: fc.oneof(
    { weight: 24, arbitrary: fc.constant<NameMirror>('match') },
    { weight: 2, arbitrary: fc.constantFrom<NameMirror>('base64', 'bad_base64', 'missing', 'dup') },
    { weight: 1, arbitrary: fc.constantFrom(...TOOL_NAMES).map((value): NameMirror => ({ value })) },
  ),
  origin: fc.oneof(
    { weight: 50, arbitrary: fc.constant<string | undefined>(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>('https://evil.example', 'null', 'http://127.0.0.1') },
  ),
  host: fc.oneof(
    { weight: 80, arbitrary: fc.constant<string | undefined>(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | undefined>('evil.example', 'localhost', '127.0.0.1.nip.io', '[::1]'),
    },
  ),
  contentEncoding: fc.oneof(
    { weight: 30, arbitrary: fc.constant<string | undefined>(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>('gzip', 'identity', 'br, gzip') },
  ),
  extra: fc.oneof(
    { weight: 10, arbitrary: fc.constant<[string, string][]>([]) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.tuple(
          fc.constantFrom('x-fuzz', 'mcp-param-region', 'x-forwarded-for', 'cookie', 'last-event-id', 'x-request-id'),
          fc.oneof(
            { weight: 20, arbitrary: fc.string({ maxLength: 20 }) },
            { weight: 1, arbitrary: fc.constant('a'.repeat(20_000)) },
          ),
        ),
        { maxLength: 2 },
      ),
    },
  ),
});

const rawMutation: fc.Arbitrary<RawMutation> = fc.oneof(
  { weight: 50, arbitrary: fc.constant<RawMutation>({ kind: 'none' }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ at: fc.double({ min: 0, max: 1, noNaN: true }), byte: fc.integer({ min: 0, max: 255 }) })
      .map((r): RawMutation => ({ kind: 'set_byte', ...r })),
  },
  {
    weight: 1,
    arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at): RawMutation => ({ kind: 'truncate', at })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        bytes: fc.oneof(
          fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
          fc
            .constantFrom('\\ud800', '\\u0000', '"', ',', '}', ']', '{', '\u00ff', '\ud83d\ude00', '1e999', 'null')
            .map((s) => [...Buffer.from(s)]),
          fc.constant<number[]>([0xc0, 0x80]),
          fc.constant<number[]>([0xed, 0xa0, 0x80]),
        ),
      })
      .map((r): RawMutation => ({ kind: 'insert', ...r })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '"id":1,"id":"dup",',
        '"jsonrpc":"1.0",',
        '"method":"tools/call",',
        '"method":"initialize",',
        '"params":{"name":"fuzz_counter"},',
        '"__proto__":{"admin":true},',
        '"constructor":{"prototype":{"x":1}},',
        '"id":9007199254740993,',
        '"id":1e400,',
      )
      .map((text): RawMutation => ({ kind: 'dup_key', text })),
  },
  { weight: 1, arbitrary: fc.constant<RawMutation>({ kind: 'bom' }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }).map((copies): RawMutation => ({ kind: 'batch', copies })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.constantFrom('', ' ', 'null', '[]', '{}', '"2.0"', '1e999', '-0', '{"jsonrpc":"2.0"}', '\u0000'),
        fc.integer({ min: 30, max: 200_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
        fc.integer({ min: 30, max: 50_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
        fc.string({ maxLength: 40 }),
        fc.constant(`"${'a'.repeat(1_100_000)}"`),
        fc
          .integer({ min: 900, max: 1100 })
          .map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`),
        fc.integer({ min: 9_990, max: 10_010 }).map((n) => `[${'0,'.repeat(n - 1)}0]`),
      )
      .map((text): RawMutation => ({ kind: 'replace', text })),
  },
);

const sessionChoice = fc.oneof(
  { weight: 12, arbitrary: fc.constant<SessionChoice>('own') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<SessionChoice>(
      'other_principal',
      'other_era',
      'random',
      'garbage',
      'dead',
      'none',
      'dup',
    ),
  },
);

const authKind: fc.Arbitrary<AuthKind> = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom<AuthKind>(...PRINCIPAL_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom<AuthKind>(...AUTH_KINDS) },
);

const route: fc.Arbitrary<Route> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Route>({ kind: 'modern' }) },
  { weight: 6, arbitrary: fc.constant<Route>({ kind: 'streamable' }) },
  { weight: 5, arbitrary: fc.constant<Route>({ kind: 'sse_message' }) },
  { weight: 1, arbitrary: fc.constantFrom<Route>({ kind: 'sse_open' }, { kind: 'stream_get' }, { kind: 'delete' }) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'DELETE'),
        path: fc.constantFrom(
          '/mcp',
          '/mcp/',
          '/MCP',
          '/mcp/sse',
          '/mcp/sse/x',
          '/mcp/messages',
          '/mcp/messages?sessionId=',
          '/mcp?access_token=abc',
          '/.well-known/oauth-protected-resource',
          '/.well-known/oauth-protected-resource/mcp',
          '/healthz',
          '/readyz',
          '/',
          '/%2e%2e/mcp',
          '/mcp/../mcp',
        ),
      })
      .map((r): Route => ({ kind: 'odd', ...r })),
  },
);

/** Mostly none; sometimes the client hangs up while the answer is on its way. */
const abortMs = fc.oneof(
  { weight: 20, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }) },
);

const CLEAN_HEADERS: HeaderSpec = {
  contentType: 'application/json',
  accept: 'application/json, text/event-stream',
  protocolVersion: 'match',
  mcpMethod: 'match',
  mcpName: 'match',
  origin: undefined,
  host: undefined,
  contentEncoding: undefined,
  extra: [],
};

/** Everything on the wire right, so the message itself reaches dispatch, policy and the tools. */
const elicitAnswer = fc.oneof(
  { weight: 6, arbitrary: fc.constant<unknown>({ action: 'accept', content: { confirm: true } }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(
      { action: 'accept', content: { confirm: false } },
      { action: 'accept', content: { confirm: 'true' } },
      { action: 'accept' },
      { action: 'decline' },
      { action: 'cancel' },
      { action: 'ACCEPT', content: { confirm: true } },
      { confirm: true },
      'accept',
      null,
    ),
  },
  { weight: 1, arbitrary: hostileValue },
);

const retry: fc.Arbitrary<Retry> = fc.record({
  state: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Retry['state']>('captured') },
    { weight: 1, arbitrary: fc.constantFrom<Retry['state']>('other_principal', 'flipped', 'made_up') },
  ),
  pick: fc.nat(64),
  sameArgs: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  answer: elicitAnswer,
});

/**
 * The 2026 confirmation round trip (SEC-AZ-07, Z-26): an admin calls the destructive counting tool
 * declaring form elicitation, gets `input_required` with a sealed `requestState`, and retries with
 * it (or a forged, replayed or foreign one) and an answer.
 */
const confirmationInput: fc.Arbitrary<FuzzInput> = fc
  .record({
    auth: fc.constantFrom<AuthKind>('carol', 'dave', 'alice_as_admin', 'alice', 'bob'),
    id: fc.integer({ min: 0, max: 1_000_000 }),
    args: fc.oneof(
      validCounterArgs.map(({ confirm: _c, ...rest }) => rest),
      validCounterArgs,
    ),
    retry: fc.option(retry, { freq: 2 }),
  })
  .map(({ auth, id, args, retry }): FuzzInput => ({
    route: { kind: 'modern' },
    auth,
    session: 'own',
    sessionSeed: '',
    message: {
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: {
        name: 'fuzz_counter_admin',
        arguments: args,
        _meta: { [PV_KEY]: '2026-07-28', [CAPS_KEY]: { elicitation: { form: {} } } },
      },
    },
    headers: CLEAN_HEADERS,
    raw: { kind: 'none' },
    chunked: false,
    ...(retry !== null && { retry }),
  }));

const cleanInput: fc.Arbitrary<FuzzInput> = fc
  .constantFrom<Route>({ kind: 'modern' }, { kind: 'modern' }, { kind: 'streamable' }, { kind: 'sse_message' })
  .chain((r) =>
    fc.record({
      route: fc.constant(r),
      auth: authKind,
      session: fc.constant<SessionChoice>('own'),
      sessionSeed: fc.constant(''),
      message: cleanEnvelope(r.kind === 'modern'),
      headers: fc.constant(CLEAN_HEADERS),
      raw: fc.constant<RawMutation>({ kind: 'none' }),
      chunked: fc.constant(false),
      abortMs,
    }),
  );

const mutatedInput: fc.Arbitrary<FuzzInput> = route.chain((r) =>
  fc.record({
    route: fc.constant(r),
    auth: authKind,
    session: sessionChoice,
    sessionSeed: fc.string({ maxLength: 8 }),
    message: fc.oneof(
      { weight: 20, arbitrary: envelope(r.kind === 'modern' || r.kind === 'odd') },
      { weight: 2, arbitrary: envelope(r.kind !== 'modern') },
      { weight: 1, arbitrary: responseMessage },
      { weight: 1, arbitrary: hostileValue },
    ),
    headers: headerSpec,
    raw: rawMutation,
    chunked: fc.oneof({ weight: 10, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    abortMs,
  }),
);

/** One fuzz input: a route, credentials, a session choice, a message and its mutations. */
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc.oneof(
  { weight: 7, arbitrary: cleanInput },
  { weight: 1, arbitrary: confirmationInput },
  { weight: 12, arbitrary: mutatedInput },
  {
    weight: 1,
    // Raw framing on requests that get one answer (no stream that stays open).
    arbitrary: fc.tuple(fc.oneof(cleanInput, mutatedInput), framing).map(([input, f]): FuzzInput => {
      const streams = ['sse_open', 'stream_get', 'odd'].includes(input.route.kind);
      return { ...input, route: streams ? { kind: 'modern' } : input.route, framing: f };
    }),
  },
);
