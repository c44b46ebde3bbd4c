/**
 * Nothing in the attack catalog is silently skipped: every row of SECURITY.md part B has a test
 * named by its ID in test/security/, or a line in README.md's table saying why not (pending, with
 * what it waits for, or n/a). The README's coverage figures are the ones computed here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG } from './catalog.js';

const DIR = import.meta.dirname;
const ID = /^[A-Z]-\d+[a-z]?$/;

/** IDs that start the title of an `it(...)`/`test(...)` in the suite's files. */
function testedIds(): Set<string> {
  const ids = new Set<string>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.test.ts'))) {
    const text = readFileSync(path.join(DIR, file), 'utf8');
    for (const m of text.matchAll(/\b(?:it|test)\(\s*['"`]([A-Z]-\d+[a-z]?)\b/g)) ids.add(m[1]!);
  }
  return ids;
}

/** README table rows: `| ID | status | … |`, status `pending`, `partial` or `n/a`. */
function readmeRows(): Map<string, string> {
  const rows = new Map<string, string>();
  const text = readFileSync(path.join(DIR, 'README.md'), 'utf8');
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length >= 4 && ID.test(cells[1] ?? '')) rows.set(cells[1]!, cells[2] ?? '');
  }
  return rows;
}

describe('the security suite covers the attack catalog', () => {
  const catalog = Object.values(CATALOG).flatMap((s) => s.ids);
  const tested = testedIds();
  const listed = readmeRows();

  it('every catalog row has a test named by its ID or a README line saying why not', () => {
    const unaccounted = catalog.filter((id) => !tested.has(id) && !listed.has(id));
    expect(unaccounted).toEqual([]);
  });

  it('README statuses are consistent with the tests: pending and n/a rows have none, partial rows have one', () => {
    for (const [id, status] of listed) {
      expect(['pending', 'partial', 'n/a'], `${id}: ${status}`).toContain(status);
      if (status === 'partial') expect(tested.has(id), `${id} is partial but has no test`).toBe(true);
      else expect(tested.has(id), `${id} is ${status} but has a test: list it as partial or drop the line`).toBe(false);
    }
  });

  it("the README's coverage figures are today's", () => {
    const na = catalog.filter((id) => listed.get(id) === 'n/a').length;
    const pending = catalog.filter((id) => listed.get(id) === 'pending').length;
    const partial = catalog.filter((id) => listed.get(id) === 'partial').length;
    const passing = catalog.filter((id) => tested.has(id) && !listed.has(id)).length;
    const summary = `${passing} of ${catalog.length - na} applicable rows pass in full, ${partial} in part, ${pending} pending; ${na} not applicable`;
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    expect(readme).toContain(summary);
    const root = readFileSync(path.join(DIR, '../../README.md'), 'utf8');
    expect(root).toContain(summary);
  });
});
