/**
 * The credentials the fuzzer sends: a valid token per demo principal, and every kind of broken,
 * foreign, expired or malformed credential, each with the principal it stands for (if any).
 */
import { ISSUER } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { PRINCIPAL_NAMES } from './arbitraries.js';
import type { AuthKind, Who } from './arbitraries.js';

export interface Credentials {
  valid: Record<Who, string>;
  /** The Authorization header values, query token and principal an auth choice stands for. */
  resolve(kind: AuthKind): { headers: string[]; query?: string; who: Who | undefined };
}

export async function mintCredentials(tg: TestGateway): Promise<Credentials> {
  const now = Math.floor(Date.now() / 1000);
  const long = { iat: now, exp: now + 12 * 3600 };
  const valid = {} as Record<Who, string>;
  for (const w of PRINCIPAL_NAMES) valid[w] = await tg.token(w, long);
  const alice = { iss: ISSUER, aud: tg.mcpUrl, sub: 'alice', org_id: 'acme', roles: ['user'], ...long };
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const t: Record<string, string> = {
    alice_as_admin: await tg.token('alice', { ...long, roles: ['admin'] }),
    carol_scoped: await tg.token('carol', { ...long, scope: 'files:read files:write' }),
    expired: await tg.token('alice', { iat: now - 7200, exp: now - 3600 }),
    not_yet_valid: await tg.token('alice', { ...long, nbf: now + 3600 }),
    wrong_secret: await tg.sign(alice, { secret: 'another-secret-0123456789abcdef0123456789' }),
    wrong_audience: await tg.token('alice', { ...long, aud: 'https://elsewhere.example/mcp' }),
    wrong_issuer: await tg.token('alice', { ...long, iss: 'urn:evil' }),
    alg_none: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(alice)}.`,
    alg_hs512: await tg.sign(alice, { alg: 'HS512' }),
    no_tenant_claim: await tg.sign({ ...alice, org_id: undefined }),
    roles_not_array: await tg.sign({ ...alice, roles: 'admin' }),
    bad_subject: await tg.sign({ ...alice, sub: 'alice bob' }),
    exp_as_string: await tg.sign({ ...alice, exp: String(now + 900) }),
  };
  const bearer = (x: string): string => `Bearer ${x}`;
  return {
    valid,
    resolve(kind) {
      switch (kind) {
        case 'alice':
        case 'bob':
        case 'carol':
        case 'dave':
          return { headers: [bearer(valid[kind])], who: kind };
        case 'alice_as_admin':
          return { headers: [bearer(t[kind]!)], who: 'alice' };
        case 'carol_scoped':
          return { headers: [bearer(t[kind]!)], who: 'carol' };
        case 'lowercase_scheme':
          return { headers: [`bearer ${valid.alice}`], who: 'alice' };
        case 'garbage_jwt':
          return { headers: [bearer('abc.def.ghi')], who: undefined };
        case 'empty_bearer':
          return { headers: ['Bearer '], who: undefined };
        case 'scheme_only':
          return { headers: ['Bearer'], who: undefined };
        case 'basic':
          return { headers: ['Basic YWxpY2U6cGFzcw=='], who: undefined };
        case 'two_headers_same':
          return { headers: [bearer(valid.alice), bearer(valid.alice)], who: undefined };
        case 'two_headers_mixed':
          return { headers: [bearer(valid.alice), bearer(valid.bob)], who: undefined };
        case 'token_in_query':
          return { headers: [bearer(valid.alice)], query: valid.alice, who: undefined };
        case 'too_long':
          return { headers: [bearer('a'.repeat(9000))], who: undefined };
        case 'double_space':
          return { headers: [`Bearer  ${valid.alice}`], who: undefined };
        case 'none':
          return { headers: [], who: undefined };
        default:
          return { headers: [bearer(t[kind]!)], who: undefined };
      }
    },
  };
}
