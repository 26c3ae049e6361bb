import { AUTH_ERRORS } from '@custodian/auth';
import { AUTHZ_ERRORS } from '@custodian/authz';
import { BIDS_ERRORS } from '@custodian/bids';
import { CORE_ERRORS, ERROR_CODES } from '@custodian/core';
import { GOVERNANCE_ERRORS } from '@custodian/governance';
import { GRANT_ERRORS, IDENTITY_ERRORS } from '@custodian/identity';
import { LINKAGE_ERRORS } from '@custodian/linkage';
import { NOTIFICATIONS_ERRORS } from '@custodian/notifications';
import { OBJECTION_NOT_FOUND } from '@custodian/objections';
import { PRACTICES_ERRORS } from '@custodian/practices';
import { RELEASE_ERRORS, RELEASE_FAILURES } from '@custodian/release';
import { TRANSPARENCY_ERRORS } from '@custodian/transparency';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Error codes are constants per library (`<lib>.errors.ts`); the OpenAPI document's enum
 * (ERROR_CODES, in core, which imports no other library) lists every one of them.
 */
describe('error codes', () => {
  const perLibrary: Record<string, Record<string, string>> = {
    CORE_ERRORS,
    AUTH_ERRORS,
    AUTHZ_ERRORS,
    IDENTITY_ERRORS,
    GRANT_ERRORS,
    LINKAGE_ERRORS,
    OBJECTIONS: { OBJECTION_NOT_FOUND },
    PRACTICES_ERRORS,
    BIDS_ERRORS,
    GOVERNANCE_ERRORS,
    RELEASE_ERRORS,
    RELEASE_FAILURES,
    TRANSPARENCY_ERRORS,
    NOTIFICATIONS_ERRORS,
  };

  it('every library constant is a stable code of the OpenAPI enum, named as it reads', () => {
    const listed = new Set<string>(ERROR_CODES);
    for (const [lib, codes] of Object.entries(perLibrary))
      for (const [name, code] of Object.entries(codes)) {
        expect(listed.has(code), `${lib}.${name}`).toBe(true);
        expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      }
  });

  it('no library but core spells a code as a loose string', () => {
    // A loose code: a quoted string that is one of ERROR_CODES (or, in the libraries below, shaped
    // like one: UPPER_SNAKE with an underscore), outside the library's `<lib>.errors.ts` — in an error, a failure, a `case`, a
    // comparison. The constants (RELEASE_ERRORS, RELEASE_FAILURES, TRANSPARENCY_ERRORS, BIDS_ERRORS …)
    // are the one spelling; a job's failure codes too.
    const listed = new Set<string>(ERROR_CODES);
    const loose: string[] = [];
    // Core owns ERROR_CODES and the generic codes its filter gives framework errors. In these four,
    // any UPPER_SNAKE string is taken for a code (elsewhere such strings also name injection
    // tokens, CSV headers, environment variables).
    const shaped = ['release', 'register', 'portal', 'transparency'];
    const libs = readdirSync(path.join(__dirname, '..', 'libs')).filter((l) => l !== 'core');
    for (const lib of libs) {
      const dir = path.join(__dirname, '..', 'libs', lib, 'src');
      const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
        (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.endsWith('.errors.ts'),
      );
      for (const f of files)
        for (const [, word] of readFileSync(path.join(dir, f), 'utf8').matchAll(/['"]([A-Z][A-Z0-9_]+)['"]/g))
          if (listed.has(word) || (shaped.includes(lib) && /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(word)))
            loose.push(`${lib}/${f}: ${word}`);
    }
    expect(loose).toEqual([]);
  });

  it("a release's failure codes are constants (RELEASE_FAILURES) and codes of the OpenAPI enum", () => {
    const listed = new Set<string>(ERROR_CODES);
    expect(Object.keys(RELEASE_FAILURES).length).toBeGreaterThan(0);
    for (const [name, code] of Object.entries(RELEASE_FAILURES as Record<string, string>)) {
      expect(code, name).toBe(name);
      expect(listed.has(code), `RELEASE_FAILURES.${name}`).toBe(true);
    }
  });
});
