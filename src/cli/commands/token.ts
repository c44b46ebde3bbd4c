/**
 * `portcullis token`: mints a short-lived HS JWT for testing, with the config's first secret
 * issuer, its audience and its claim names, and prints only the token on stdout.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { CLAIM_ID_PATTERN } from '../../config/defaults.js';
import type { GatewayConfig, IssuerConfig } from '../../config/types.js';
import { ErrorCodes, PortcullisError } from '../../errors.js';
import { parseCommandArgs, parseDuration, parseList, usageError } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { COMMAND_HELP } from '../help.js';

const DEFAULT_TTL_SEC = 15 * 60;

const OPTIONS = {
  sub: { type: 'string' },
  org: { type: 'string' },
  roles: { type: 'string' },
  scopes: { type: 'string' },
  ttl: { type: 'string' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What goes into a token. */
export interface TokenRequest {
  readonly sub: string;
  readonly org: string;
  readonly roles: readonly string[];
  readonly scopes?: readonly string[];
  readonly ttlSec: number;
}

/** Runs `portcullis token`; resolves with the exit code. */
export async function runToken(args: readonly string[], ctx: CliContext): Promise<number> {
  const flags = parseCommandArgs('token', args, OPTIONS);
  if (flags.help) {
    ctx.stdout(COMMAND_HELP.token);
    return 0;
  }
  const sub = requiredId(flags.sub, '--sub');
  const org = requiredId(flags.org, '--org');
  if (flags.roles === undefined) throw usageError(`token: --roles is required (see 'portcullis token --help')`);
  const roles = parseList(flags.roles);
  if (roles.length === 0) throw usageError('token: --roles needs at least one role');
  for (const role of roles) checkId(role, '--roles');
  const scopes = flags.scopes === undefined ? undefined : parseList(flags.scopes);

  // Flags are checked before the config is read: a typo must not create files.
  const { config } = loadCliConfig(ctx, { config: flags.config });
  const known = config.auth.roles;
  const unknown = roles.filter((r) => known.length > 0 && !known.includes(r));
  if (unknown.length > 0) {
    throw usageError(`token: unknown role(s) ${unknown.join(', ')}; the config knows ${known.join(', ')}`);
  }
  const max = config.auth.maxTokenAgeSec;
  const ttlSec = flags.ttl === undefined ? Math.min(DEFAULT_TTL_SEC, max) : parseDuration(flags.ttl, '--ttl');
  if (ttlSec <= 0 || ttlSec > max) {
    throw usageError(`--ttl: must be more than 0 and at most ${max} seconds (auth.maxTokenAgeSec)`);
  }

  const token = await mintToken(config, { sub, org, roles, ...(scopes && { scopes }), ttlSec });
  ctx.stdout(`${token}\n`);
  return 0;
}

/**
 * Signs a token the gateway configured by `config` accepts: first issuer with a secret, first
 * audience, the configured claim names, `iat`/`exp`, a random `jti`, and the issuer's `typ`.
 */
export async function mintToken(config: GatewayConfig, req: TokenRequest, now = Date.now()): Promise<string> {
  const issuer = config.auth.issuers.find((i): i is IssuerConfig & { secret: string } => i.secret !== undefined);
  if (!issuer) {
    throw new PortcullisError(
      ErrorCodes.CONFIG_INVALID,
      'no issuer in the config has an HS secret; tokens for key-set issuers come from their identity provider',
    );
  }
  const alg = issuer.algorithms.includes('HS256') ? 'HS256' : issuer.algorithms[0];
  const audience = config.auth.audiences[0];
  if (alg === undefined || audience === undefined) {
    throw new PortcullisError(ErrorCodes.CONFIG_INVALID, 'the config has no usable algorithm or audience');
  }
  const claims = config.auth.claims;
  const iat = Math.floor(now / 1000);
  const payload: Record<string, unknown> = {
    [claims.user]: req.sub,
    [claims.tenant]: req.org,
    [claims.roles]: [...req.roles],
    ...(req.scopes !== undefined && req.scopes.length > 0 && { [claims.scopes]: req.scopes.join(' ') }),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg, ...(issuer.typ !== undefined && { typ: issuer.typ }) })
    .setIssuer(issuer.issuer)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + req.ttlSec)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(new TextEncoder().encode(issuer.secret));
}

function requiredId(value: string | undefined, flag: string): string {
  if (value === undefined) throw usageError(`token: ${flag} is required (see 'portcullis token --help')`);
  return checkId(value, flag);
}

/** The gateway refuses ids outside CLAIM_ID_PATTERN; refusing them here says why. */
function checkId(value: string, flag: string): string {
  if (!CLAIM_ID_PATTERN.test(value)) {
    throw usageError(`${flag}: '${value}' is not a valid id (letters, digits, _ . : @ -, at most 128)`);
  }
  return value;
}
