/**
 * The embedded demo's signing secret: `<cwd>/.portcullis/dev-secret`, 32 random bytes
 * (base64url), created on first use with mode 0600 in a 0700 directory. There is never a
 * built-in fallback secret (DESIGN "Identity": no fallback secrets). `start`, `token` and
 * `check` all go through here, so a token minted before `start` is accepted by it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { writeKeyFileOnce } from '../auth/keyFile.js';
import { ErrorCodes, PortcullisError } from '../errors.js';

/** The demo's state directory, relative to the working directory (matches examples/demo). */
export const DEV_DIR = '.portcullis';
/** The secret file inside it (the demo config's `secretFile`). */
export const DEV_SECRET_FILE = 'dev-secret';

const SECRET_BYTES = 32;
/** The loader's floor for HS secrets (config/defaults.ts `minSecretBytes`). */
const MIN_SECRET_CHARS = 32;
const POSIX = process.platform !== 'win32';

/**
 * Makes sure the dev secret exists and is private; returns its absolute path. Creates it if
 * absent (atomically, so concurrent `start` and `token` agree on one secret). An existing file
 * readable by group or others is narrowed to 0600 with a warning: whoever could read it could
 * mint demo tokens, which is why the warning says how to rotate it.
 */
export function ensureDevSecret(cwd: string, warn: (message: string) => void): string {
  const dir = path.join(cwd, DEV_DIR);
  const file = path.join(dir, DEV_SECRET_FILE);
  const shown = path.join(DEV_DIR, DEV_SECRET_FILE);
  try {
    ensurePrivateDir(dir, warn);
    let stat = lstatOrUndefined(file);
    if (!stat) {
      createExclusive(file);
      stat = lstatSync(file);
    }
    if (!stat.isFile()) throw keyError(`${shown} is not a regular file`);
    if (POSIX) {
      const uid = process.getuid?.();
      if (uid !== undefined && stat.uid !== uid && uid !== 0) {
        throw keyError(`${shown} belongs to another user (uid ${stat.uid}); delete it to generate a new one`);
      }
      if ((stat.mode & 0o077) !== 0) {
        chmodSync(file, 0o600);
        warn(
          `${shown} was readable by others (mode ${mode(stat)}); changed to 0600. ` +
            `Anyone who read it can mint demo tokens: delete it to rotate the secret.`,
        );
      }
    }
    if (readFileSync(file, 'utf8').trim().length < MIN_SECRET_CHARS) {
      throw keyError(`${shown} is empty or too short; delete it to generate a new one`);
    }
    return file;
  } catch (err) {
    if (err instanceof PortcullisError) throw err;
    throw keyError(`cannot prepare the demo secret ${shown}: ${(err as Error).message}`, err);
  }
}

function ensurePrivateDir(dir: string, warn: (message: string) => void): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw keyError(`${DEV_DIR} is not a directory`);
  if (POSIX && (stat.mode & 0o077) !== 0) {
    chmodSync(dir, 0o700);
    warn(`${DEV_DIR}/ was accessible by others (mode ${mode(stat)}); changed to 0700`);
  }
}

/** A new random secret, written once (0600, never half-written; another process's wins). */
function createExclusive(file: string): void {
  writeKeyFileOnce(file, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`);
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function mode(stat: Stats): string {
  return `0${(stat.mode & 0o777).toString(8)}`;
}

function keyError(message: string, cause?: unknown): PortcullisError {
  return new PortcullisError(ErrorCodes.KEY_LOAD, message, [], cause === undefined ? undefined : { cause });
}
