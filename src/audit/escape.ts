/**
 * Log-injection defence for every string the audit trail stores or prints (SEC-AUD-03, O-05,
 * O-06, D-19): control and spoofing characters become literal `\uXXXX` text and each field is
 * capped, so one event is always one record and no viewer (terminal, log UI) can be tricked by
 * its content.
 */

/** Cap of one string field, in UTF-16 code units (D-19: audit flooding). */
export const MAX_FIELD_CHARS = 1024;

/** Cap of the stored arguments text (D-19: args kept as digest plus a redacted excerpt). */
export const MAX_ARGUMENTS_CHARS = 8 * 1024;

/**
 * Characters written as `\uXXXX` (SEC-AUD-03): C0 controls (CR, LF, ESC …), DEL, C1 controls,
 * U+2028/U+2029 (line breaks to JavaScript and many viewers), the bidi embeddings/overrides
 * U+202A–U+202E and isolates U+2066–U+2069 (Trojan-Source style reordering), and surrogates
 * (only lone ones are escaped; valid pairs are kept, see below).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

function isUnsafe(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function hex4(code: number): string {
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Returns `value` with unsafe characters written as literal `\uXXXX` (lower-case hex, the way
 * JSON escapes them) and capped at `maxChars` code units of output, followed by
 * `…[truncated N]` where N counts the input code units left out. An escape sequence or a
 * surrogate pair is never split.
 *
 * Backslashes are not doubled: applied to JSON text, the result is still JSON that decodes to
 * the same value; applied to a plain field, a literal `\u001b` typed by a client reads the
 * same as an escaped ESC, which is ambiguous but harmless (no control character survives).
 */
export function escapeLogString(value: string, maxChars: number = MAX_FIELD_CHARS): string {
  if (value.length <= maxChars && !UNSAFE.test(value)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const code = value.charCodeAt(i);
    let piece: string;
    let width = 1;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        piece = value.slice(i, i + 2);
        width = 2;
      } else piece = hex4(code);
    } else if (code >= 0xdc00 && code <= 0xdfff) piece = hex4(code);
    else piece = isUnsafe(code) ? hex4(code) : value[i]!;
    if (out.length + piece.length > maxChars) break;
    out += piece;
    i += width;
  }
  return i < value.length ? `${out}…[truncated ${value.length - i}]` : out;
}

/** `escapeLogString` for optional fields: `undefined`/`null` become `null`. */
export function escapeField(value: string | undefined | null, maxChars: number = MAX_FIELD_CHARS): string | null {
  return value === undefined || value === null ? null : escapeLogString(value, maxChars);
}
