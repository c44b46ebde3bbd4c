/**
 * The JSON-lines audit sink, for log shippers and SIEMs: one event per line (SEC-AUD-03), to a
 * file (appended, `fdatasync` per batch, created 0600) or to stdout (`-`). Also the one line
 * format that `portcullis audit export` prints.
 */
import { constants } from 'node:fs';
import { access, mkdir, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { COLUMNS } from './sqlite.js';
import { escapeLogString } from './escape.js';
import type { AuditEvent, AuditSink } from './types.js';

/**
 * One event as a JSON line (with its `\n`), fields in a fixed order. Characters that JSON
 * leaves raw but viewers interpret (C1, U+2028/9, bidi) are written as JSON `\uXXXX` escapes,
 * so the line decodes to the same event (and hash) yet cannot spoof a terminal (O-06).
 */
export function eventToJsonLine(event: AuditEvent): string {
  const ordered = Object.fromEntries(COLUMNS.map(([field]) => [field, event[field]]));
  return `${escapeLogString(JSON.stringify(ordered), Infinity)}\n`;
}

/** A parsed line if it has the shape of an event, else `undefined` (torn or foreign line). */
export function parseEventLine(line: string): AuditEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(v.seq) &&
    typeof v.id === 'string' &&
    typeof v.instance === 'string' &&
    typeof v.prevHash === 'string' &&
    typeof v.hash === 'string';
  return ok ? (value as AuditEvent) : undefined;
}

/** Where a stdout sink writes: `process.stdout` or a test stream. */
export interface LineStream {
  write(chunk: string, callback: (err?: Error | null) => void): boolean;
}

const TAIL_CHUNK = 64 * 1024;

/** The JSONL sink. Open with `JsonlAuditSink.open`. */
export class JsonlAuditSink implements AuditSink {
  readonly name = 'jsonl';
  /** Bytes of the file that hold complete, durable lines. */
  private goodSize: number;
  /** A write failed: the bytes past `goodSize` may be a torn line and are cut before the next one. */
  private dirty: boolean;
  private closed = false;

  private constructor(
    private readonly file: FileHandle | undefined,
    private readonly filePath: string | undefined,
    private readonly stream: LineStream | undefined,
    size: number,
    torn: boolean,
  ) {
    this.goodSize = size;
    this.dirty = torn;
  }

  /**
   * Opens the sink: `target` is a file path (parent created 0700, file 0600) or `-` for
   * `stdout`. A file that ends in a partial line (a crash mid-append; never acknowledged) is
   * cut back to its last complete line before the first write.
   */
  static async open(target: string, stdout: LineStream = process.stdout): Promise<JsonlAuditSink> {
    if (target === '-') return new JsonlAuditSink(undefined, undefined, stdout, 0, false);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    const fh = await open(target, 'a+', 0o600);
    try {
      const { size } = await fh.stat();
      const end = await lastNewlineEnd(fh, size);
      return new JsonlAuditSink(fh, target, undefined, end, end !== size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The last complete event of `instance` in the file, read backwards from the end. */
  async last(instance: string): Promise<AuditEvent | undefined> {
    if (!this.file) return undefined; // stdout cannot be read back: the chain restarts
    let end = this.goodSize;
    let carry = Buffer.alloc(0); // bytes of a line that began in an earlier chunk
    while (end > 0) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.alloc(end - start);
      await this.file.read(chunk, 0, chunk.length, start);
      const buf = Buffer.concat([chunk, carry]);
      // Split on the byte 0x0a, so a multi-byte character across chunks is never cut.
      const cut = start > 0 ? buf.indexOf(0x0a) + 1 : 0;
      carry = buf.subarray(0, Math.max(cut - 1, 0));
      if (start > 0 && cut === 0) carry = buf;
      else {
        const lines = buf.subarray(cut).toString('utf8').split('\n');
        for (let i = lines.length - 1; i >= 0; i--) {
          const event = parseEventLine(lines[i]!);
          if (event?.instance === instance) return event;
        }
      }
      end = start;
    }
    return undefined;
  }

  async write(batch: readonly AuditEvent[]): Promise<void> {
    if (this.closed) throw new Error('audit sink is closed');
    const text = batch.map(eventToJsonLine).join('');
    if (!this.file) {
      const out = this.stream!;
      await new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
      return;
    }
    if (this.dirty) {
      await this.file.truncate(this.goodSize);
      this.dirty = false;
    }
    this.dirty = true;
    await this.file.appendFile(text, 'utf8');
    await this.file.datasync();
    this.goodSize += Buffer.byteLength(text, 'utf8');
    this.dirty = false;
  }

  async writable(): Promise<boolean> {
    if (this.closed) return false;
    if (this.filePath === undefined) return true;
    try {
      await access(this.filePath, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file?.close();
  }
}

/** The offset just after the last `\n` of the file (0 if none): where complete lines end. */
async function lastNewlineEnd(fh: FileHandle, size: number): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const buf = Buffer.alloc(end - start);
    await fh.read(buf, 0, buf.length, start);
    const at = buf.lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}
