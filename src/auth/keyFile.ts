/**
 * Key material on disk (the demo's dev secret, the gateway's upstream-signing key): written once,
 * mode 0600, never half-written, and safe against two processes creating it at the same time.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * Writes `content` to a temporary file (0600, exclusive), then hard-links it into place. If
 * another process created `file` first, theirs is kept and this content is dropped.
 */
export function writeKeyFileOnce(file: string, content: string): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
}
