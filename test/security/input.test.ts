/**
 * SECURITY.md B.4 — JSON-RPC and input attacks (V- rows), each asserting the §0 answer on a real
 * gateway over loopback HTTP: malformed and oversized messages (RC-12/RC-13), tool-name tricks
 * (RC-16), schema violations (RC-17), and what must not happen — the tool never runs, nothing
 * is normalised into a real tool, the process stays up. Body limits on the wire (V-01) and the
 * notification budget (V-31) live in raw-socket.test.ts and dos.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortcullisError } from '../../src/errors.js';
import { storedEvents } from '../audit/helpers.js';
import { modernHeaders, modernParams, postModern } from '../integration/support.js';
import { openSession, rpcOn } from './support/session.js';
import { openGate, startRawGateway, toolState } from './support/raw.js';
import type { RawGateway } from './support/raw.js';

const INSTANCE = 'sec-input';
const JSON_TYPE = 'application/json; charset=utf-8';
const INVALID_REQUEST = { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } };
const PARSE_ERROR = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };

let g: RawGateway;
let alice: string;

beforeAll(async () => {
  // 2 MiB of body, so that a 10 000-message batch (about 1 MiB) reaches the JSON-RPC intake.
  g = await startRawGateway({ server: '  bodyLimitBytes: 2097152', extraYaml: `audit:\n  instance: ${INSTANCE}` });
  alice = await g.token('alice');
});
afterAll(async () => {
  await g?.close();
});

/** POSTs raw body text as a 2026-07-28 `tools/call` of `sec_probe` (the headers match a well-formed body). */
function postRaw(body: string | Buffer, name = 'sec_probe'): Promise<Response> {
  return fetch(g.mcpUrl, { method: 'POST', headers: modernHeaders(alice, 'tools/call', { 'mcp-name': name }), body });
}

/** A 2026-07-28 `tools/call` body of `sec_probe` with `argsJson` spliced in as raw text. */
function probeBody(argsJson: string, id: number | string = 1): string {
  const params = JSON.stringify(modernParams({ name: 'sec_probe' }));
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":{"arguments":${argsJson},${params.slice(1)}}`;
}

/** RC-12/RC-13: 400, JSON, exactly `expected`. */
async function expectRejected(res: Response, expected: unknown = INVALID_REQUEST): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toBe(JSON_TYPE);
  expect(await res.json()).toEqual(expected);
}

/** RC-17: 200, an `isError` result whose only text names the problem and a correlation id. */
async function expectToolError(res: Response, message: string): Promise<string> {
  expect(res.status).toBe(200);
  const body = (await res.json()) as { id: unknown; result: { isError?: boolean; content: { text: string }[] } };
  expect(body.result.isError).toBe(true);
  expect(body.result.content).toHaveLength(1);
  const text = body.result.content[0]!.text;
  expect(text).toMatch(new RegExp(`^Invalid arguments: ${escapeRe(message)} \\(ref [0-9a-f-]{36}\\)$`));
  return text;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function callProbe(args: Record<string, unknown>, id = 1): Promise<Response> {
  return postModern(g.mcpUrl, alice, 'tools/call', { name: 'sec_probe', arguments: args }, { id });
}

/** RC-16 on a 2025 session: 200 and exactly the unknown-tool error with the request's id. */
async function expectUnknownTool(res: Response, id: number): Promise<void> {
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ jsonrpc: '2.0', id, error: { code: -32602, message: 'Unknown tool' } });
}

async function auditEvents(): Promise<ReturnType<typeof storedEvents>> {
  await g.gateway.audit.commit({ event: 'config.loaded', reason: 'test flush' });
  return storedEvents(g.auditFile, INSTANCE);
}

describe('B.4 JSON-RPC and input attacks', () => {
  it('V-03 200 000 levels of nesting inside arguments: 400 -32600, and the process stays up', async () => {
    const before = toolState().probe;
    const deep = `{"flag":true,"ids":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    await expectRejected(await postRaw(probeBody(deep)));
    expect(toolState().probe).toBe(before);
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    const ok = await callProbe({ flag: true });
    expect(ok.status).toBe(200);
    expect(toolState().probe).toBe(before + 1);
  });

  it('V-04 100 000 keys, a 100 000-element array: 400 -32600; a 900 KB string: RC-17 by its maxLength', async () => {
    const before = toolState().probe;
    const keys = `{${Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`;
    await expectRejected(await postRaw(probeBody(keys)));
    await expectRejected(await postRaw(probeBody(`{"flag":true,"ids":[${new Array(100_000).fill('"a"').join(',')}]}`)));
    const text = await expectToolError(
      await callProbe({ flag: true, note: 'n'.repeat(900_000) }),
      "argument 'note' must NOT have more than 1000 characters",
    );
    expect(text).not.toContain('nnnn');
    expect(toolState().probe).toBe(before);
  });

  it('V-06 a batch of 10 000 tools/call: 400 -32600, none of them runs', async () => {
    const before = toolState().probe;
    const one = (i: number) =>
      `{"jsonrpc":"2.0","id":${i},"method":"tools/call","params":{"name":"sec_probe","arguments":{"flag":true}}}`;
    const batch = `[${Array.from({ length: 10_000 }, (_, i) => one(i)).join(',')}]`;
    expect(batch.length).toBeGreaterThan(1024 * 1024); // over the default cap, under this gateway's
    await expectRejected(await postRaw(batch));
    // A batch of one is still a batch.
    await expectRejected(await postRaw(`[${one(1)}]`));
    expect(toolState().probe).toBe(before);
  });

  it('V-07 invalid JSON and invalid UTF-8: 400 -32700 with id null and no parser detail', async () => {
    await expectRejected(await postRaw('{"jsonrpc":'), PARSE_ERROR);
    await expectRejected(await postRaw('{"jsonrpc":"2.0","id":1,"method":"tools/call",}'), PARSE_ERROR);
    const badUtf8 = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","x":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    await expectRejected(await postRaw(badUtf8), PARSE_ERROR);
    const lone = Buffer.from([0xed, 0xa0, 0x80]); // a UTF-8-encoded lone surrogate is not UTF-8
    await expectRejected(await postRaw(Buffer.concat([Buffer.from('{"a":"'), lone, Buffer.from('"}')])), PARSE_ERROR);
  });

  it('V-09 jsonrpc missing, "1.0" or a number: 400 -32600', async () => {
    const params = JSON.stringify(modernParams({ name: 'sec_probe', arguments: { flag: true } }));
    for (const version of ['', '"jsonrpc":"1.0",', '"jsonrpc":2.0,', '"jsonrpc":"2.0 ",']) {
      await expectRejected(await postRaw(`{${version}"id":1,"method":"tools/call","params":${params}}`));
    }
  });

  it('V-10 id null, {}, [], true, 1.5, an unsafe integer or a 10 KB string: 400 -32600 with id null', async () => {
    const before = toolState().probe;
    for (const id of ['null', '{}', '[]', 'true', '1.5', '9007199254740993', JSON.stringify('i'.repeat(10_240))]) {
      const body = probeBody('{"flag":true}').replace('"id":1', `"id":${id}`);
      await expectRejected(await postRaw(body));
    }
    expect(toolState().probe).toBe(before);
  });

  it('V-11 reusing an in-flight id in the same session: 400 -32600 with id null, the first call unaffected', async () => {
    const session = await openSession(g.mcpUrl, alice);
    const started = toolState().slowStarted;
    const first = rpcOn(g.mcpUrl, alice, session, 'tools/call', { name: 'sec_slow', arguments: {} }, 5);
    await waitFor(() => toolState().slowStarted === started + 1);
    const again = await rpcOn(
      g.mcpUrl,
      alice,
      session,
      'tools/call',
      { name: 'sec_probe', arguments: { flag: true } },
      5,
    );
    expect(again.status).toBe(400);
    // id null: an answer carrying id 5 would be taken as the answer to the call still running.
    expect(await again.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Invalid Request: request id already in use' },
    });
    openGate();
    const res = await first;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 5, result: { content: [{ type: 'text', text: 'slow done' }] } });
    // Once answered, the id may be used again.
    expect((await rpcOn(g.mcpUrl, alice, session, 'ping', {}, 5)).status).toBe(200);
  });

  it('V-13 a JSON-RPC response that answers no server request: 400 -32600, ignored', async () => {
    const session = await openSession(g.mcpUrl, alice);
    const res = await fetch(g.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'srv-7', result: { action: 'accept' } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Unexpected response' },
    });
    const ping = await rpcOn(g.mcpUrl, alice, session, 'ping', {}, 8);
    expect(await ping.json()).toEqual({ jsonrpc: '2.0', id: 8, result: {} });
  });

  it('V-14 params as an array or a string: 400 -32600', async () => {
    for (const params of ['[{"name":"sec_probe"}]', '"sec_probe"', '42', 'null']) {
      await expectRejected(await postRaw(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":${params}}`));
    }
  });

  it('V-16 look-alike tool names are unknown tools, none normalised into a real one, and escaped in the audit', async () => {
    const session = await openSession(g.mcpUrl, alice);
    const names = [
      'ｇｅｔ_user_profile', // fullwidth: NFKC gives get_user_profile
      'gеt_user_profile', // Cyrillic е
      'get\u200b_user_profile',
      'get_user_profile\u202e',
      'get_user_profile ',
      ' get_user_profile',
      'Get_User_Profile',
      'GET_USER_PROFILE',
      'g'.repeat(129),
      '../get_user_profile',
      'get_user_profile\u0000',
      '',
    ];
    for (const name of names) {
      await expectUnknownTool(
        await rpcOn(g.mcpUrl, alice, session, 'tools/call', { name, arguments: { userId: 'alice' } }, 3),
        3,
      );
    }
    // The real name works, so the answers above are not an outage.
    const real = await rpcOn(g.mcpUrl, alice, session, 'tools/call', {
      name: 'get_user_profile',
      arguments: { userId: 'alice' },
    });
    expect(await real.json()).toMatchObject({ result: { structuredContent: { id: 'alice' } } });
    const denied = (await auditEvents()).filter((e) => e.event === 'tool.denied' && e.user === 'alice');
    const bidi = denied.find((e) => e.tool?.startsWith('get_user_profile\\u202e'));
    expect(bidi).toBeDefined();
    // eslint-disable-next-line no-control-regex -- no control or bidi character may survive
    for (const e of denied) expect(e.tool ?? '').not.toMatch(/[\u0000-\u001f\u202a-\u202e]/);
  });

  it('V-17 a tool name that is not a string (array, number, object, null): the unknown-tool answer', async () => {
    const session = await openSession(g.mcpUrl, alice);
    for (const name of [['get_user_profile'], 42, { toString: 'get_user_profile' }, null, true]) {
      await expectUnknownTool(
        await rpcOn(g.mcpUrl, alice, session, 'tools/call', { name, arguments: { userId: 'alice' } }, 4),
        4,
      );
    }
  });

  it('V-19 arguments {"constructor":{"prototype":…}}: refused at intake (400 -32600), nothing polluted', async () => {
    const before = toolState().probe;
    await expectRejected(await postRaw(probeBody('{"flag":true,"constructor":{"prototype":{"polluted":1}}}')));
    await expectRejected(await postRaw(probeBody('{"flag":true,"__proto__":{"polluted":1}}')));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(toolState().probe).toBe(before);
  });

  it('V-20 prototype keys in params, in _meta and inside arrays: 400 -32600', async () => {
    const before = toolState().probe;
    const meta =
      '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}';
    const bodies = [
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"isAdmin":true},"name":"sec_probe","arguments":{"flag":true},${meta}}}}`,
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sec_probe","arguments":{"flag":true},${meta},"__proto__":{"x":1}}}}`,
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sec_probe","arguments":{"flag":true},${meta},"constructor":1}}}`,
      probeBody('{"flag":true,"ids":[{"__proto__":{"x":1}}]}'),
      probeBody('{"flag":true,"ids":[[{"prototype":1}]]}'),
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","__proto__":{},"params":{"name":"sec_probe","arguments":{"flag":true},${meta}}}}`,
    ];
    for (const body of bodies) await expectRejected(await postRaw(body));
    expect(toolState().probe).toBe(before);
  });

  it('V-21 type confusion is never coerced: RC-17 naming the field', async () => {
    const before = toolState().probe;
    await expectToolError(await callProbe({ flag: true, limit: '10' }), "argument 'limit' must be integer");
    await expectToolError(await callProbe({ flag: true, limit: 10.5 }), "argument 'limit' must be integer");
    await expectToolError(await callProbe({ flag: true, ids: 'a' }), "argument 'ids' must be array");
    await expectToolError(await callProbe({ flag: 'false' }), "argument 'flag' must be boolean");
    await expectToolError(await callProbe({ flag: null }), "argument 'flag' must be boolean");
    await expectToolError(await callProbe({ flag: 1 }), "argument 'flag' must be boolean");
    await expectToolError(await callProbe({}), "missing required argument 'flag'");
    expect(toolState().probe).toBe(before);
  });

  it('V-23 a non-finite number (1e400): refused at intake (400 -32600), never sent on as null', async () => {
    // The gateway's documented choice (README "Validation"): non-finite numbers are refused
    // at intake, before any schema, so RC-13 rather than the row's RC-17.
    const before = toolState().probe;
    await expectRejected(await postRaw(probeBody('{"flag":true,"amount":1e400}')));
    await expectRejected(await postRaw(probeBody('{"flag":true,"amount":-1e400}')));
    expect(toolState().probe).toBe(before);
  });

  it('V-24 mass assignment (role, owner, price): RC-17 unexpected argument', async () => {
    const before = toolState().probe;
    await expectToolError(await callProbe({ flag: true, role: 'admin' }), "unexpected argument 'role'");
    await expectToolError(await callProbe({ flag: true, owner: 'x' }), "unexpected argument 'owner'");
    await expectToolError(await callProbe({ flag: true, price: 0 }), "unexpected argument 'price'");
    expect(toolState().probe).toBe(before);
  });

  it('V-26 100 000 characters against a format and a nested-quantifier pattern: RC-17 by maxLength first', async () => {
    // A catastrophic pattern run on this input would never finish: the test timeout is the check.
    const long = `${'a'.repeat(100_000)}!`;
    await expectToolError(
      await callProbe({ flag: true, code: long }),
      "argument 'code' must NOT have more than 64 characters",
    );
    await expectToolError(
      await callProbe({ flag: true, email: `${'a'.repeat(100_000)}@x` }),
      "argument 'email' must NOT have more than 254 characters",
    );
    // Within the length cap the pattern still refuses (and finishes).
    await expectToolError(
      await callProbe({ flag: true, code: 'aaab' }),
      `argument 'code' must match pattern "^(a+)+$"`,
    );
  });

  it('V-27 a schema $ref to a network address is never fetched: the tool is refused at start', async () => {
    // Federation of upstream MCP servers is not built; the same rule applies to every schema the
    // gateway compiles, so a configured tool pointing at a (recording) metadata host is refused.
    let hits = 0;
    const meta = createServer((_req, res) => {
      hits++;
      res.end('{"type":"object"}');
    });
    await new Promise<void>((resolve) => meta.listen(0, '127.0.0.1', resolve));
    const { port } = meta.address() as AddressInfo;
    try {
      const tool = `
  - name: sec_remote_ref
    description: Input schema by remote reference.
    input: { type: object, properties: { x: { $ref: "http://127.0.0.1:${port}/latest/meta-data/" } } }
    roles: [user]
    module: { builtin: demo.echo }`;
      const err = await startRawGateway({ tools: tool }).then(
        () => undefined,
        (e: unknown) => e as PortcullisError,
      );
      expect(err?.code).toBe('PORTCULLIS_E_TOOL_LOAD');
      expect(err?.problems.join('\n')).toMatch(/sec_remote_ref.*resolve reference/);
      expect(hits).toBe(0);
    } finally {
      await new Promise((resolve) => meta.close(resolve));
    }
  });

  it('V-29 resource URIs (file://, traversal, encoded, 64 KB): the same method-not-found answer, nothing read', async () => {
    // The gateway serves no resources (they would come from federated servers, not built), so
    // every resources/read is one identical -32601 answer whatever the URI.
    const session = await openSession(g.mcpUrl, alice);
    const uris = [
      'file:///etc/passwd',
      'saas://acme/../globex/x',
      'saas://acme/%2e%2e/globex/x',
      'SaaS://acme/x',
      `saas://acme/${'x'.repeat(64 * 1024)}`,
    ];
    for (const uri of uris) {
      const res = await rpcOn(g.mcpUrl, alice, session, 'resources/read', { uri }, 6);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        jsonrpc: '2.0',
        id: 6,
        error: { code: -32601, message: 'Method not found: resources/read' },
      });
    }
  });

  it("V-30 notifications/cancelled naming another session's request id is ignored", async () => {
    const own = await openSession(g.mcpUrl, alice);
    const other = await openSession(g.mcpUrl, alice);
    const bob = await g.token('bob');
    const bobs = await openSession(g.mcpUrl, bob);
    const started = toolState().slowStarted;
    const call = rpcOn(g.mcpUrl, alice, own, 'tools/call', { name: 'sec_slow', arguments: {} }, 11);
    await waitFor(() => toolState().slowStarted === started + 1);
    for (const [token, session] of [
      [alice, other],
      [bob, bobs],
    ] as const) {
      const res = await fetch(g.mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': session,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: 11, reason: 'hostile' },
        }),
      });
      expect(res.status).toBe(202);
    }
    openGate();
    const res = await call;
    expect(await res.json()).toMatchObject({ id: 11, result: { content: [{ type: 'text', text: 'slow done' }] } });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}
