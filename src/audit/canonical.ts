/**
 * Canonical JSON for hashing (SEC-AUD-01 argument digest, SEC-AUD-04 hash chain): object keys
 * sorted by UTF-16 code units, no whitespace, strings and numbers as `JSON.stringify` writes
 * them. The same value always gives the same text, whatever the key order it arrived in.
 */
import { createHash, hash } from 'node:crypto';

/** Deeper values are refused (inputs are already limited to depth 32; this also stops cycles). */
const MAX_DEPTH = 128;

/**
 * The canonical JSON text of `value`. As in `JSON.stringify`: `undefined`, functions and
 * symbols are dropped from objects and become `null` in arrays; non-finite numbers become
 * `null`; a bigint is written as a decimal string. Throws a `RangeError` past depth 128.
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0) ?? 'null';
}

function write(value: unknown, depth: number): string | undefined {
  if (depth > MAX_DEPTH) throw new RangeError(`canonicalJson: value nested deeper than ${MAX_DEPTH}`);
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (value === null) return 'null';
      // Plain loops and concatenation: this runs for every audit event (hash chain).
      if (Array.isArray(value)) {
        const items: readonly unknown[] = value;
        let out = '[';
        for (let i = 0; i < items.length; i++) out += `${i > 0 ? ',' : ''}${write(items[i], depth + 1) ?? 'null'}`;
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      let out = '{';
      for (const key of Object.keys(record).sort()) {
        const text = write(record[key], depth + 1);
        if (text !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${text}`;
      }
      return `${out}}`;
    }
    default:
      return undefined;
  }
}

/** Lower-case hex SHA-256 of a UTF-8 string (one-shot `crypto.hash` where Node has it: no Hash object). */
export const sha256Hex: (text: string) => string =
  typeof hash === 'function'
    ? (text) => hash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text, 'utf8').digest('hex');
