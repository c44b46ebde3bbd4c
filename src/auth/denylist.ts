/**
 * Token revocation (SEC-AUTH-13, J-41): a denylist file the operator edits, checked on every
 * request — verified tokens served from the cache included — and re-read when it changes, so a
 * revocation takes effect within `reloadSec`. One entry per line, `#` starts a comment:
 *
 *   jti <token id>                       that token (any issuer)
 *   sub <issuer> <subject>               every token of that user: the account is disabled
 *   sub <issuer> <subject> <ISO time>    that user's tokens issued before that time
 *
 * A file that cannot be read or parsed at start stops the start (every problem with its line);
 * on a later reload the previous list stays in force and the failure is reported.
 */
import { readFileSync, statSync } from 'node:fs';
import { ErrorCodes, PortcullisError } from '../errors.js';

/** What revocation looks at: the verified token's identity and ids. */
export interface RevocationSubject {
  readonly issuer: string;
  readonly user: string;
  /** `jti`, when the token has one. */
  readonly tokenId?: string | undefined;
  /** `iat`, seconds since the epoch. */
  readonly issuedAt?: number | undefined;
}

export interface Denylist {
  /** The entry revoking this token, e.g. `jti` or `sub`; undefined if none does. */
  revoked(s: RevocationSubject): 'jti' | 'sub' | undefined;
  readonly size: number;
  close(): void;
}

export interface DenylistOptions {
  readonly file: string;
  readonly reloadSec: number;
  readonly onReload?: (entries: number) => void;
  readonly onError?: (err: PortcullisError) => void;
}

interface Entries {
  readonly jti: ReadonlySet<string>;
  /** `${issuer}\0${sub}` → revoked before this iat (seconds); Infinity: every token. */
  readonly sub: ReadonlyMap<string, number>;
}

const subKey = (issuer: string, user: string): string => `${issuer}\u0000${user}`;

/** Parses denylist text; every problem is listed with its line number. */
export function parseDenylist(text: string, file: string): Entries {
  const jti = new Set<string>();
  const sub = new Map<string, number>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [kind, ...rest] = line.split(/\s+/);
    if (kind === 'jti' && rest.length === 1 && rest[0]) {
      jti.add(rest[0]);
    } else if (kind === 'sub' && (rest.length === 2 || rest.length === 3)) {
      const [issuer = '', user = '', before] = rest;
      const at = before === undefined ? Infinity : Date.parse(before) / 1000;
      if (Number.isNaN(at)) problems.push(`${file}:${i + 1}: not an ISO 8601 time: ${before ?? ''}`);
      else sub.set(subKey(issuer, user), Math.max(at, sub.get(subKey(issuer, user)) ?? -Infinity));
    } else {
      problems.push(`${file}:${i + 1}: expected "jti <id>" or "sub <issuer> <subject> [<ISO time>]"`);
    }
  });
  if (problems.length > 0) {
    throw new PortcullisError(
      ErrorCodes.CONFIG_INVALID,
      `denylist ${file} has ${problems.length} problem(s)`,
      problems,
    );
  }
  return { jti, sub };
}

function readEntries(file: string): Entries {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PortcullisError(ErrorCodes.CONFIG_INVALID, `cannot read denylist ${file}`, [String(err)], {
      cause: err,
    });
  }
  return parseDenylist(text, file);
}

/** Loads the denylist (throws on a bad file) and re-reads it when its size or mtime changes. */
export function createDenylist(options: DenylistOptions): Denylist {
  let entries = readEntries(options.file);
  let stamp = fileStamp(options.file);
  const timer = setInterval(() => {
    const now = fileStamp(options.file);
    if (now === stamp) return;
    try {
      entries = readEntries(options.file);
      stamp = now;
      options.onReload?.(entries.jti.size + entries.sub.size);
    } catch (err) {
      // Keep the list in force; report once per change of the file.
      stamp = now;
      options.onError?.(err as PortcullisError);
    }
  }, options.reloadSec * 1000);
  timer.unref();
  return {
    revoked(s) {
      if (s.tokenId !== undefined && entries.jti.has(s.tokenId)) return 'jti';
      const before = entries.sub.get(subKey(s.issuer, s.user));
      if (before === undefined) return undefined;
      // Without an iat the token's age is unknown: a dated revocation covers it too.
      return before === Infinity || s.issuedAt === undefined || s.issuedAt < before ? 'sub' : undefined;
    },
    get size() {
      return entries.jti.size + entries.sub.size;
    },
    close: () => clearInterval(timer),
  };
}

function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return 'missing';
  }
}
