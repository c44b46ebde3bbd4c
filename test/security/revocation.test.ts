/**
 * J-41 (SEC-AUTH-13): a revoked token or a disabled user is refused within the denylist's reload
 * interval, whether or not the token is in the verified-token cache, with the RC-2 answer, and
 * the refusal is audited with its reason. A real gateway reads a real denylist file.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUER } from '../helpers/gateway.js';
import { postModern } from '../integration/support.js';
import { answerOf, auditEvents, expectAuthRefusal, startAuthGateway } from './support/auth.js';
import type { SecurityGateway } from './support/session.js';

let dir: string;
let denylist: string;
let gw: SecurityGateway;
let prm: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'portcullis-revoke-'));
  denylist = path.join(dir, 'denylist');
  writeFileSync(denylist, '# revoked tokens and users\n');
  gw = await startAuthGateway({ auth: `  denylist: { file: ${JSON.stringify(denylist)}, reloadSec: 1 }` });
  prm = `${gw.url}/.well-known/oauth-protected-resource/mcp`;
});
afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

const list = async (token: string) => answerOf(await postModern(gw.mcpUrl, token, 'tools/list'));

/** Polls until the gateway answers `status` to `token` (the reload interval is 1 s). */
async function untilStatus(token: string, status: number): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const a = await list(token);
    if (a.status === status) return;
    if (Date.now() > end) throw new Error(`still ${a.status}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('B.1 revocation', () => {
  it('J-41 a revoked jti, then a disabled user, is refused (RC-2) even from the token cache, within the reload interval', async () => {
    const stolen = await gw.token('alice', { jti: 'tok-stolen-1' });
    const other = await gw.token('alice', { jti: 'tok-other-2' });
    const bob = await gw.token('bob', { jti: 'tok-bob-1' });
    // In the verified-token cache before the revocation.
    expect((await list(stolen)).status).toBe(200);
    expect((await list(other)).status).toBe(200);

    appendFileSync(denylist, 'jti tok-stolen-1\n');
    await untilStatus(stolen, 401);
    expectAuthRefusal(await list(stolen), 'invalid_token', prm);
    expect((await list(other)).status).toBe(200);

    // A dated entry: alice's tokens issued before the reset are refused, a newer one works.
    // The reset time is a second ahead, so every token minted so far (`other` too) is older.
    const reset = Math.floor(Date.now() / 1000) + 1;
    const before = await gw.token('alice', { iat: reset - 60 });
    const after = await gw.token('alice', { iat: reset + 1 });
    appendFileSync(denylist, `sub ${ISSUER} alice ${new Date(reset * 1000).toISOString()}\n`);
    await untilStatus(before, 401);
    expect((await list(other)).status).toBe(401);
    expect((await list(after)).status).toBe(200);

    appendFileSync(denylist, `sub ${ISSUER} alice\n`);
    await untilStatus(after, 401);
    expect((await list(bob)).status).toBe(200);

    const reasons = auditEvents(gw)
      .filter((e) => e.event === 'auth.failed')
      .map((e) => e.reason);
    expect(reasons).toContain('revoked_jti');
    expect(reasons).toContain('revoked_sub');
  });
});
