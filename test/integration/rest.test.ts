/**
 * The `http` backend end to end: a real gateway calls a real loopback REST server that records
 * everything it receives. Path traversal and host override never reach another path or host;
 * the client's token never goes upstream, the gateway's own JWT does (verifiable with the
 * published JWKS, right tenant); redirects are not followed; a slow upstream and a 50 MB body
 * become `isError` results with a correlation id and nothing of the upstream in them.
 */
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storedEvents } from '../audit/helpers.js';
import type { TestGateway } from '../helpers/gateway.js';
import { startRestGateway, startUpstream } from '../helpers/upstream.js';
import type { TestUpstream } from '../helpers/upstream.js';
import { firstText, postModern } from './support.js';

let up: TestUpstream;
let g: TestGateway;

beforeAll(async () => {
  up = await startUpstream();
  g = await startRestGateway(up);
});
afterAll(async () => {
  await g?.close();
  await up?.close();
});
beforeEach(() => up.reset());

interface CallAnswer {
  requestId: string;
  result: { content: { type: string; text: string }[]; isError?: boolean; structuredContent?: unknown };
}

async function call(name: string, args: Record<string, unknown>, token?: string): Promise<CallAnswer> {
  const res = await postModern(g.mcpUrl, token ?? (await g.token('alice')), 'tools/call', { name, arguments: args });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { result: CallAnswer['result'] };
  return { requestId: res.headers.get('x-request-id') ?? '', result: body.result };
}

function auditReason(requestId: string): string | null | undefined {
  return storedEvents(path.join(g.dir, 'audit.sqlite'), 'rest-1').find(
    (e) => e.requestId === requestId && e.event === 'tool.called',
  )?.reason;
}

describe('mapping validated arguments to one upstream request', () => {
  it('sends the path, query, mapped header and static header; the tenant is the caller’s', async () => {
    const { result } = await call('get_file', { fileId: 'f_1', search: 'a&org_id=globex', trace: 't-1' });
    expect(result.isError).toBeUndefined();
    expect(up.requests).toHaveLength(1);
    const r = up.requests[0]!;
    expect(r.method).toBe('GET');
    expect(r.rawUrl).toBe('/api/v1/files/f_1/content?search=a%26org_id%3Dglobex&org_id=acme');
    expect(r.query.getAll('org_id')).toEqual(['acme']);
    expect(r.headers['x-trace-id']).toBe('t-1');
    expect(r.headers['x-api-version']).toBe('2026-01-01');
    expect(r.headers['x-portcullis-tenant']).toBe('acme');
    expect(r.headers['x-portcullis-user']).toBe('alice');
    expect(JSON.parse(firstText(result))).toMatchObject({ path: '/api/v1/files/f_1/content' });
  });

  it('writes the tenant into the body last: an org_id argument of another tenant cannot override it', async () => {
    const { result } = await call('create_item', { name: 'box', amount: 3, org_id: 'globex' });
    expect(result.isError).toBeUndefined();
    expect(JSON.parse(up.requests[0]!.body)).toEqual({ name: 'box', amount: 3, org_id: 'acme' });
    expect(up.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('never sends confirm, and puts the tenant into its path segment', async () => {
    const { result } = await call('delete_item', { itemId: 'it_9', confirm: true }, await g.token('carol'));
    expect(result.isError).toBeUndefined();
    const r = up.requests[0]!;
    expect(r.method).toBe('DELETE');
    expect(r.rawUrl).toBe('/api/v1/orgs/acme/items/it_9');
    expect(r.body).toBe('');
    expect(JSON.stringify(r.headers)).not.toContain('confirm');
  });

  it('path traversal and host override never reach another path or host', async () => {
    for (const fileId of [
      '..',
      '../../admin',
      '%2e%2e',
      '%2E%2E%2Fadmin',
      'a/b',
      'a?x=1',
      'a#f',
      'evil.example@x',
      '@evil.example',
      'a\\b',
      '//evil.example',
    ]) {
      const { result, requestId } = await call('get_file', { fileId });
      expect(result.isError, fileId).toBe(true);
      expect(firstText(result)).toBe(`Invalid arguments: 'fileId' cannot be sent upstream as given (ref ${requestId})`);
      expect(auditReason(requestId)).toBe('bad_path_argument');
    }
    expect(up.requests).toHaveLength(0);
    expect(up.connections()).toBe(0);
  });

  it('maps JSON to text and, with an output schema, structuredContent', async () => {
    up.route('/api/v1/invoices/', { kind: 'json', body: { id: 'inv_1', amountCents: 1200 } });
    const { result } = await call('get_invoice', { invoiceId: 'inv_1' });
    expect(result).toEqual({
      content: [{ type: 'text', text: '{"id":"inv_1","amountCents":1200}' }],
      structuredContent: { id: 'inv_1', amountCents: 1200 },
      resultType: 'complete',
    });
  });

  it('maps text/plain to text', async () => {
    up.route('/api/v1/fixed/text', { kind: 'text', body: 'hello, acme' });
    const { result } = await call('get_path', { which: 'text' });
    expect(result.content).toEqual([{ type: 'text', text: 'hello, acme' }]);
  });
});

describe('credentials', () => {
  it('the client’s bearer token never appears upstream; the gateway JWT verifies with the published JWKS', async () => {
    const token = await g.token('alice');
    const { requestId } = await call('get_file', { fileId: 'f_2' }, token);
    const r = up.requests[0]!;
    const signature = token.split('.')[2]!;
    const everything = [r.rawUrl, r.body, ...r.rawHeaders].join('\n');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(signature);

    const m = /^Bearer (.+)$/.exec(String(r.headers.authorization));
    expect(m).not.toBeNull();
    const jwks = createRemoteJWKSet(new URL(`${g.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(m![1]!, jwks, {
      issuer: g.url,
      audience: 'urn:test:rest',
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: 'alice', org_id: 'acme', roles: ['user'], req: requestId });
    expect(payload.exp! - payload.iat!).toBe(60);
    expect(typeof payload.jti).toBe('string');

    // Another tenant's caller gets its own tenant in the JWT.
    up.reset();
    await call('get_file', { fileId: 'f_2' }, await g.token('bob'));
    const bobJwt = /^Bearer (.+)$/.exec(String(up.requests[0]!.headers.authorization))![1]!;
    const bob = await jwtVerify(bobJwt, jwks, { issuer: g.url, audience: 'urn:test:rest' });
    expect(bob.payload).toMatchObject({ sub: 'bob', org_id: 'globex' });
  });

  it('serves the key set without authentication, public members only', async () => {
    const res = await fetch(`${g.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(body.keys[0]).not.toHaveProperty('d');
  });
});

describe('failures become isError results with a correlation id', () => {
  it('a redirect to 169.254.169.254 is not followed', async () => {
    up.route('/api/v1/fixed/redirect-meta', {
      kind: 'redirect',
      location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    });
    const { result, requestId } = await call('get_path', { which: 'redirect-meta' });
    expect(result).toEqual({
      content: [{ type: 'text', text: `The upstream request failed (ref ${requestId})` }],
      isError: true,
      resultType: 'complete',
    });
    expect(auditReason(requestId)).toBe('upstream_redirect');
    expect(up.requests).toHaveLength(1);
  });

  it('a redirect to 127.0.0.1 (another path of the same server) is not followed', async () => {
    up.route('/api/v1/fixed/redirect-local', { kind: 'redirect', status: 307, location: `${up.url}/admin/secrets` });
    const { result, requestId } = await call('get_path', { which: 'redirect-local' });
    expect(result.isError).toBe(true);
    expect(auditReason(requestId)).toBe('upstream_redirect');
    expect(up.requests.map((r) => r.path)).toEqual(['/api/v1/fixed/redirect-local']);
  });

  it('a slow upstream times out into an isError', async () => {
    up.route('/api/v1/slow', { kind: 'hang' });
    const { result, requestId } = await call('slow_call', {});
    expect(result.content).toEqual([{ type: 'text', text: `The upstream request timed out (ref ${requestId})` }]);
    expect(result.isError).toBe(true);
    expect(auditReason(requestId)).toBe('upstream_timeout');
  });

  it('a 50 MB upstream body is cut off', async () => {
    up.route('/api/v1/fixed/huge', { kind: 'huge', bytes: 50 * 1024 * 1024 });
    const { result, requestId } = await call('get_path', { which: 'huge' });
    expect(result.content).toEqual([{ type: 'text', text: `The upstream request failed (ref ${requestId})` }]);
    expect(auditReason(requestId)).toBe('upstream_too_large');
    const huge = up.lastHuge()!;
    await huge.done;
    expect(huge.cutOff).toBe(true);
    expect(huge.sent).toBeLessThan(50 * 1024 * 1024);
  });

  it('a declared 50 MB body is refused without reading it', async () => {
    up.route('/api/v1/fixed/huge-declared', { kind: 'huge', bytes: 50 * 1024 * 1024, declareLength: true });
    const { result, requestId } = await call('get_path', { which: 'huge-declared' });
    expect(result.isError).toBe(true);
    expect(auditReason(requestId)).toBe('upstream_too_large');
    const huge = up.lastHuge()!;
    await huge.done;
    expect(huge.cutOff).toBe(true);
  });

  it('an upstream error reveals nothing of the upstream: no URL, body or stack', async () => {
    up.route('/api/v1/fixed/fail', {
      kind: 'json',
      status: 500,
      body: { error: 'TypeError at /srv/billing/app.js:12', db: 'postgres://admin:pw@10.0.0.5/billing' },
    });
    const { result, requestId } = await call('get_path', { which: 'fail' });
    const text = JSON.stringify(result);
    expect(result.isError).toBe(true);
    expect(text).not.toMatch(/srv|postgres|127\.0\.0\.1|api\/v1|fixed|500/);
    expect(auditReason(requestId)).toBe('upstream_status_500');
  });

  it('a compressed body is not decoded (no gzip bombs)', async () => {
    up.route('/api/v1/fixed/gzip', { kind: 'text', body: 'xx', headers: { 'content-encoding': 'gzip' } });
    const { result, requestId } = await call('get_path', { which: 'gzip' });
    expect(result.isError).toBe(true);
    expect(auditReason(requestId)).toBe('upstream_bad_encoding');
    expect(up.requests[0]!.headers['accept-encoding']).toBe('identity');
  });

  it('a JSON array for a tool with an output schema fails the output check', async () => {
    up.route('/api/v1/invoices/', { kind: 'json', body: [1, 2] });
    const { result, requestId } = await call('get_invoice', { invoiceId: 'inv_2' });
    expect(result.isError).toBe(true);
    expect(auditReason(requestId)).toBe('output_schema_mismatch');
  });
});
