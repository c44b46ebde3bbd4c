/**
 * The embedded demo's REST path end to end: the official v2 client calls `http` tools of the demo
 * config, the gateway signs its own JWT for the demo Projects API, and the API answers per tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { connectModern, connectStreamable, firstText } from '../integration/support.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw?.close();
});

type Projects = { projects: { id: string; name: string; status: string; createdBy: string }[] };

describe('the demo Projects API behind the gateway', () => {
  it("lists each caller's own organisation's projects, as structured content", async () => {
    const alice = await connectModern(gw.mcpUrl, await gw.token('alice'));
    const bob = await connectModern(gw.mcpUrl, await gw.token('bob'));
    try {
      const a = await alice.callTool({ name: 'list_projects', arguments: { status: 'active' } });
      expect(a.isError).toBeFalsy();
      const ids = (a.structuredContent as Projects).projects.map((p) => p.id);
      expect(ids).toContain('prj_apollo');
      expect(ids).not.toContain('prj_atlas');
      const b = await bob.callTool({ name: 'list_projects', arguments: {} });
      expect((b.structuredContent as Projects).projects.map((p) => p.id)).toEqual(['prj_atlas']);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it("answers another organisation's project as an isError result with a reference, on a 2025 session too", async () => {
    const { client } = await connectStreamable(gw.mcpUrl, await gw.token('bob'));
    try {
      const r = await client.callTool({ name: 'get_project', arguments: { projectId: 'prj_apollo' } });
      expect(r.isError).toBe(true);
      const text = firstText(r as { content?: unknown });
      expect(text).toMatch(/\(ref [^)]+\)/);
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain('not_found');
    } finally {
      await client.close();
    }
  });

  it('creates a project as the calling user, and only an admin with confirm archives it', async () => {
    const alice = await connectModern(gw.mcpUrl, await gw.token('alice'));
    const carol = await connectModern(gw.mcpUrl, await gw.token('carol'));
    try {
      const created = await alice.callTool({ name: 'create_project', arguments: { name: 'Orion' } });
      expect(created.isError).toBeFalsy();
      const project = JSON.parse(firstText(created)) as { id: string; createdBy: string; status: string };
      expect(project).toMatchObject({ createdBy: 'alice', status: 'active' });

      const tools = (await alice.listTools()).tools.map((t) => t.name);
      expect(tools).toEqual(expect.arrayContaining(['list_projects', 'get_project', 'create_project']));
      expect(tools).not.toContain('archive_project');

      const unconfirmed = await carol.callTool({
        name: 'archive_project',
        arguments: { projectId: project.id, confirm: false },
      });
      expect(unconfirmed.isError).toBe(true);
      const archived = await carol.callTool({
        name: 'archive_project',
        arguments: { projectId: project.id, confirm: true },
      });
      expect(archived.isError).toBeFalsy();
      expect(JSON.parse(firstText(archived))).toMatchObject({ id: project.id, status: 'archived' });
    } finally {
      await Promise.all([alice.close(), carol.close()]);
    }
  });

  it('publishes the key set the demo API verifies the gateway JWT with', async () => {
    const res = await fetch(`${gw.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: { kty: string; kid: string; d?: unknown }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });
});
