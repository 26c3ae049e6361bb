import { AUTH_ERRORS } from '@custodian/auth';
import { BIDS_ERRORS } from '@custodian/bids';
import { CORE_ERRORS, ERROR_CODES } from '@custodian/core';
import { GOVERNANCE_ERRORS } from '@custodian/governance';
import { GRANT_ERRORS, IDENTITY_ERRORS } from '@custodian/identity';
import { LINKAGE_ERRORS } from '@custodian/linkage';
import { NOTIFICATIONS_ERRORS } from '@custodian/notifications';
import { OBJECTION_NOT_FOUND } from '@custodian/objections';
import { PRACTICES_ERRORS } from '@custodian/practices';
import { RELEASE_ERRORS } from '@custodian/release';
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
    IDENTITY_ERRORS,
    GRANT_ERRORS,
    LINKAGE_ERRORS,
    OBJECTIONS: { OBJECTION_NOT_FOUND },
    PRACTICES_ERRORS,
    BIDS_ERRORS,
    GOVERNANCE_ERRORS,
    RELEASE_ERRORS,
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

  it('the release library raises its answer codes through RELEASE_ERRORS, never as loose strings', () => {
    const dir = path.join(__dirname, '..', 'libs', 'release', 'src');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.endsWith('.errors.ts'),
    );
    const loose = files.filter((f) =>
      /(Error|deny)\(\s*'[A-Z][A-Z0-9_]+'|code: '[A-Z][A-Z0-9_]+'/.test(
        readFileSync(path.join(dir, f), 'utf8'),
      ),
    );
    expect(loose).toEqual([]);
  });
});
