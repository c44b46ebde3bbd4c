/** The revocation denylist on its own: the file format, what each entry revokes, reloads. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDenylist, parseDenylist } from '../../src/auth/denylist.js';
import type { Denylist } from '../../src/auth/denylist.js';
import { PortcullisError } from '../../src/errors.js';

const ISS = 'https://login.example.com/';
const T = Date.parse('2026-11-01T00:00:00Z') / 1000;

let dir: string | undefined;
let list: Denylist | undefined;
afterEach(() => {
  list?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  list = dir = undefined;
});

function fileWith(text: string): string {
  dir = mkdtempSync(path.join(tmpdir(), 'portcullis-deny-'));
  const file = path.join(dir, 'denylist');
  writeFileSync(file, text);
  return file;
}

describe('denylist', () => {
  it('revokes a token id, every token of a user, or a user’s tokens issued before a time', () => {
    const file = fileWith(
      `# revoked after the laptop was stolen\njti 7f3a-1\n\nsub ${ISS} mallory\nsub ${ISS} alice 2026-11-01T00:00:00Z # password reset\n`,
    );
    list = createDenylist({ file, reloadSec: 60 });
    expect(list.size).toBe(3);
    expect(list.revoked({ issuer: 'urn:any', user: 'bob', tokenId: '7f3a-1' })).toBe('jti');
    expect(list.revoked({ issuer: ISS, user: 'mallory', issuedAt: T + 10_000 })).toBe('sub');
    expect(list.revoked({ issuer: 'urn:other-issuer', user: 'mallory' })).toBeUndefined();
    expect(list.revoked({ issuer: ISS, user: 'alice', issuedAt: T - 1 })).toBe('sub');
    expect(list.revoked({ issuer: ISS, user: 'alice', issuedAt: T })).toBeUndefined();
    expect(list.revoked({ issuer: ISS, user: 'alice' })).toBe('sub'); // no iat: age unknown
    expect(list.revoked({ issuer: ISS, user: 'bob', tokenId: 'other', issuedAt: T })).toBeUndefined();
  });

  it('lists every malformed line with its number, and refuses to start on a bad or missing file', () => {
    let err: unknown;
    try {
      parseDenylist('jti\nsub only-issuer\nsub i u not-a-time\nkid x\njti a b\n', 'deny.txt');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortcullisError);
    expect((err as PortcullisError).problems.map((p) => p.split(':')[1])).toEqual(['1', '2', '3', '4', '5']);
    expect(() => createDenylist({ file: '/nonexistent/denylist', reloadSec: 1 })).toThrow(/cannot read denylist/);
  });

  it('picks up a change within the reload interval; a broken edit keeps the previous list in force', async () => {
    const file = fileWith('jti one\n');
    const errors: string[] = [];
    let reloads = 0;
    list = createDenylist({
      file,
      reloadSec: 1,
      onReload: () => (reloads += 1),
      onError: (e) => errors.push(...e.problems),
    });
    writeFileSync(file, 'jti one\njti two\n');
    await until(() => reloads === 1);
    expect(list.revoked({ issuer: ISS, user: 'u', tokenId: 'two' })).toBe('jti');
    writeFileSync(file, 'jti one\njti two\nthis is not an entry\n');
    await until(() => errors.length > 0);
    expect(errors[0]).toMatch(/:3: expected/);
    expect(list.revoked({ issuer: ISS, user: 'u', tokenId: 'two' })).toBe('jti');
  });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}
