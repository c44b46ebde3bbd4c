/**
 * SECURITY.md B.9, forward-compat attacks on MCP 2026-07-28 (F-*): the standard headers and
 * the `Mcp-Param-*` mirrors must equal the body (-32020), versions are checked (-32022), and a
 * stateless request never touches a session. A refused request never reaches a tool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODERN, modernHeaders, modernParams, PV } from '../integration/support.js';
import { auditEvents, parseRaw, rawExchange, startAuthGateway } from './support/auth.js';
import { openSession, rpcOn, seenCalls } from './support/session.js';
import type { SecurityGateway } from './support/session.js';

let gw: SecurityGateway;

beforeAll(async () => {
  gw = await startAuthGateway({ fixtures: true });
});

afterAll(async () => {
  await gw?.close();
});

/** A 2026-07-28 POST: `headers` replace the standard ones (a `null` value drops a header). */
async function post(
  token: string,
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string | null> = {},
  meta: Record<string, unknown> = {},
): Promise<Response> {
  const all: Record<string, string | null> = { ...modernHeaders(token, method), ...headers };
  const body = modernParams(params);
  body._meta = { ...(body._meta as object), ...meta };
  return fetch(gw.mcpUrl, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== null)),
    body: JSON.stringify({ jsonrpc: '2.0', id: 'f-1', method, params: body }),
  });
}

/** Asserts 400 with JSON-RPC `code`, the request id echoed. */
async function expectRefused(res: Response, code: number): Promise<void> {
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 'f-1', error: { code } });
}

const record = { name: 'sec_record', arguments: { note: 'f' } };

describe('B.9 forward-compat attacks (2026-07-28)', () => {
  it('F-02 Mcp-Method or Mcp-Name differing from the body gets 400 -32020, and no tool runs', async () => {
    const token = await gw.token('alice');
    const before = seenCalls().length;
    await expectRefused(
      await post(token, 'tools/call', record, { 'mcp-method': 'tools/list', 'mcp-name': 'sec_record' }),
      -32020,
    );
    await expectRefused(
      await post(token, 'tools/list', {}, { 'mcp-method': 'tools/call', 'mcp-name': 'sec_record' }),
      -32020,
    );
    await expectRefused(
      await post(token, 'tools/call', record, { 'mcp-method': 'Tools/Call', 'mcp-name': 'sec_record' }),
      -32020,
    );
    await expectRefused(
      await post(token, 'tools/call', record, { 'mcp-method': null, 'mcp-name': 'sec_record' }),
      -32020,
    );
    // A harmless name in the header, another tool in the body; or no Mcp-Name at all.
    await expectRefused(await post(token, 'tools/call', record, { 'mcp-name': 'get_user_profile' }), -32020);
    await expectRefused(await post(token, 'tools/call', record), -32020);
    // The sentinel is decoded before comparing: another name inside it is a mismatch.
    const sentinel = (name: string) => `=?base64?${Buffer.from(name).toString('base64')}?=`;
    await expectRefused(await post(token, 'tools/call', record, { 'mcp-name': sentinel('get_user_profile') }), -32020);
    expect(seenCalls().length).toBe(before);
    const encoded = await post(token, 'tools/call', record, { 'mcp-name': sentinel('sec_record') });
    expect(encoded.status).toBe(200);
    await encoded.text();
    expect(seenCalls().length).toBe(before + 1);
    // Control: matching headers run the tool.
    const ok = await post(token, 'tools/call', record, { 'mcp-name': 'sec_record' });
    expect(ok.status).toBe(200);
    await ok.text();
    expect(seenCalls().length).toBe(before + 2);
  });

  it('F-02 two Mcp-Method headers (one matching) are a mismatch, over a raw socket', async () => {
    const token = await gw.token('alice');
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'f-1', method: 'tools/list', params: modernParams() });
    const raw = parseRaw(
      await rawExchange(
        gw.port,
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
          `MCP-Protocol-Version: ${MODERN}\r\nMcp-Method: tools/list\r\nMcp-Method: tools/call\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      ),
    );
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.body)).toMatchObject({ id: 'f-1', error: { code: -32020 } });
  });

  it('F-03 an Mcp-Param header differing from the argument, literally or through the base64 sentinel, gets 400 -32020; CR/LF gets 400', async () => {
    const token = await gw.token('alice');
    const call = (region: string | undefined, header: string | null) =>
      post(
        token,
        'tools/call',
        { name: 'test_param_header', arguments: region === undefined ? {} : { region } },
        { 'mcp-name': 'test_param_header', 'mcp-param-region': header },
      );
    const b64 = (s: string) => `=?base64?${Buffer.from(s).toString('base64')}?=`;
    await expectRefused(await call('eu-west1', 'us-east1'), -32020);
    await expectRefused(await call('eu-west1', b64('us-east1')), -32020);
    await expectRefused(await call('eu-west1', null), -32020);
    await expectRefused(await call(undefined, 'eu-west1'), -32020);
    await expectRefused(await call('eu-west1', '=?base64?ZXUtd2VzdDE?='), -32020); // not strict base64
    await expectRefused(await call('eu-west1', '=?base64?/w==?='), -32020); // not UTF-8
    await expectRefused(await call('eu-west1', 'EU-WEST1'), -32020);
    // Non-ASCII and control characters must travel in the sentinel: a raw Latin-1 byte or a tab
    // inside the value is refused even when Node's Latin-1 reading of it equals the argument.
    await expectRefused(await call('eu-wést1', 'eu-wést1'), -32020);
    await expectRefused(await call('eu\twest1', 'eu\twest1'), -32020);
    const ok = await call('eu-wést1', b64('eu-wést1'));
    expect(ok.status).toBe(200);
    await ok.text();
    // Controls: the literal value, and the sentinel of the same value, are accepted.
    for (const header of ['eu-west1', b64('eu-west1')]) {
      const ok = await call('eu-west1', header);
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();
    }
    // CR/LF (and a folded line) inside a header value never reach the gateway: Node answers 400.
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 'f-1',
      method: 'tools/call',
      params: modernParams({ name: 'test_param_header', arguments: { region: 'eu-west1' } }),
    });
    for (const [value, status] of [
      ['eu-west1', 200], // control: the same bytes with a clean value
      ['eu-west1\rx', 400],
      ['eu-west1\r\n x', 400],
      ['eu-\u0000west1', 400],
    ] as const) {
      const raw = parseRaw(
        await rawExchange(
          gw.port,
          `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
            `MCP-Protocol-Version: ${MODERN}\r\nMcp-Method: tools/call\r\nMcp-Name: test_param_header\r\n` +
            `Mcp-Param-Region: ${value}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      expect(raw.status).toBe(status);
    }
  });

  it('F-04 a missing MCP-Protocol-Version, or one differing from _meta, gets 400 -32020; an unknown version -32022', async () => {
    const token = await gw.token('alice');
    const before = seenCalls().length;
    const call = (headers: Record<string, string | null>, meta: Record<string, unknown> = {}) =>
      post(token, 'tools/call', record, { 'mcp-name': 'sec_record', ...headers }, meta);
    await expectRefused(await call({ 'mcp-protocol-version': null }), -32020);
    await expectRefused(await call({ 'mcp-protocol-version': '2025-11-25' }), -32020);
    await expectRefused(await call({}, { [PV]: '2099-01-01' }), -32020);
    const unknown = await call({ 'mcp-protocol-version': '2099-01-01' }, { [PV]: '2099-01-01' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      id: 'f-1',
      error: { code: -32022, data: { supported: [MODERN], requested: '2099-01-01' } },
    });
    expect(seenCalls().length).toBe(before);
  });

  it('F-06 an Mcp-Session-Id on a 2026 request is ignored: nothing minted, no session touched, even with a live one', async () => {
    const alice = await gw.token('alice');
    const bob = await gw.token('bob');
    const aliceSession = await openSession(gw.mcpUrl, alice);
    const size = gw.gateway.sessions.size;
    const before = seenCalls().length;
    for (const sessionId of [aliceSession, 'attacker-chosen-session-id']) {
      const res = await post(bob, 'tools/call', record, { 'mcp-name': 'sec_record', 'mcp-session-id': sessionId });
      expect(res.status).toBe(200);
      expect(res.headers.get('mcp-session-id')).toBeNull();
      expect(((await res.json()) as { result: { isError?: boolean } }).result.isError).toBeFalsy();
    }
    // Both calls ran statelessly as bob, in bob's tenant; no session was created.
    expect(seenCalls().slice(before)).toEqual([
      { tool: 'sec_record', args: { tenantId: 'globex', note: 'f' }, user: 'bob', tenant: 'globex' },
      { tool: 'sec_record', args: { tenantId: 'globex', note: 'f' }, user: 'bob', tenant: 'globex' },
    ]);
    expect(gw.gateway.sessions.size).toBe(size);
    // The calls' events are durable before their answers, so the trail is complete up to here.
    const events = auditEvents(gw);
    expect(events.filter((e) => e.event === 'tool.called' && e.user === 'bob')).toHaveLength(2);
    expect(events.filter((e) => e.event === 'session.opened' && e.user === 'bob')).toEqual([]);
    // Alice's session still answers her, and only her.
    const own = await rpcOn(gw.mcpUrl, alice, aliceSession, 'ping');
    expect(own.status).toBe(200);
    await own.text();
    expect((await rpcOn(gw.mcpUrl, bob, aliceSession, 'ping')).status).toBe(404);
  });
});
