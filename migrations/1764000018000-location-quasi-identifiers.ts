import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #19: HES `provider_code` and social-care `la_code` locate a person, and the anonymised tier
 * now treats them as quasi-identifiers (as held → region → `*`, libs/release/src/location-qi.ts).
 * The catalogue classifies them so and says what each tier makes of them. No schema change. The
 * texts are written out here as they stood when this migration was written.
 */
const FIELDS: [dataset: string, field: string, before: string, after: string][] = [
  [
    'hes',
    'provider_code',
    'ODS code of the provider (hospital trust or site, 3–5 characters).',
    'ODS code of the provider (hospital trust or site, 3–5 characters), a quasi-identifier. Identifiable and pseudonymised: as held. Anonymised: as held, its region or * (whichever k-anonymity needs; the manifest says which).',
  ],
  [
    'social_care',
    'la_code',
    'ONS code of the local authority (E08000035).',
    'ONS code of the local authority (E08000035), a quasi-identifier. Identifiable and pseudonymised: as held. Anonymised: as held, its region or * (whichever k-anonymity needs; the manifest says which).',
  ],
];

export class LocationQuasiIdentifiers1764000018000 implements MigrationInterface {
  name = 'LocationQuasiIdentifiers1764000018000';

  async up(q: QueryRunner): Promise<void> {
    for (const [dataset, field, , after] of FIELDS)
      await q.query(
        `UPDATE catalog_fields SET classification = 'quasi_identifier', description = $3 WHERE dataset = $1 AND name = $2`,
        [dataset, field, after],
      );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [dataset, field, before] of FIELDS)
      await q.query(
        `UPDATE catalog_fields SET classification = 'administrative', description = $3 WHERE dataset = $1 AND name = $2`,
        [dataset, field, before],
      );
  }
}
