/**
 * Duplicate member names in a JWT header or claims set (J-32). `JSON.parse` keeps the last of
 * two equal names without complaint, while other verifiers (a proxy in front, an upstream) may
 * keep the first: `{"sub":"alice",…,"sub":"admin"}` would then name two different principals.
 * RFC 7519 §4 lets a JWT parser reject such input, so the gateway does.
 */

/**
 * True when some object in `json` repeats a member name (compared after unescaping, so
 * `"sub"` and `"s\u0075b"` are the same name). `json` must already be valid JSON: this is a
 * linear scan with an explicit stack, not a validator.
 */
export function hasDuplicateMembers(json: string): boolean {
  // One entry per open container: the names seen so far (objects) or `undefined` (arrays).
  const stack: (Set<string> | undefined)[] = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (expectName) {
        const names = stack[stack.length - 1];
        const name = JSON.parse(json.slice(i, j + 1)) as string;
        if (names?.has(name)) return true;
        names?.add(name);
        expectName = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectName = true;
    } else if (c === '[') {
      stack.push(undefined);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectName = stack[stack.length - 1] !== undefined;
    }
  }
  return false;
}
