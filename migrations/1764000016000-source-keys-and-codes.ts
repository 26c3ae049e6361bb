import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #19: the catalogue says what a source row key becomes in each tier (SPEC §5 "Identifiers by
 * tier") and what form each source code field takes (the formats the loaders now check,
 * `libs/linkage/src/source-codes.ts`). Descriptions only; no schema change.
 */
const DESCRIPTIONS: [dataset: string, field: string, before: string, after: string][] = [
  [
    'hes',
    'epikey',
    'HES episode key.',
    'HES episode key. Identifiable: as held. Pseudonymised: keyed per bid (hex HMAC-SHA256 under a key derived from the bid key), the same in every release of the bid and joining no other bid. Anonymised: a random token, new in every release.',
  ],
  [
    'hes',
    'diagnosis_icd10',
    'Primary diagnosis (ICD-10, 4 characters).',
    'Primary diagnosis, an ICD-10 code as delivered (I639 or I63.9); never free text.',
  ],
  [
    'hes',
    'procedure_opcs4',
    'Main procedure (OPCS-4, 4 characters).',
    'Main procedure, an OPCS-4 code as delivered (W371 or W37.1), empty when none; never free text.',
  ],
  [
    'hes',
    'provider_code',
    'Code of the provider (hospital trust).',
    'ODS code of the provider (hospital trust or site, 3–5 characters).',
  ],
  ['social_care', 'la_code', 'Local authority code.', 'ONS code of the local authority (E08000035).'],
  [
    'social_care',
    'service_type',
    'Type of social-care service.',
    'Type of social-care service, one of a fixed list of codes (home_care, residential_care, …); never free text.',
  ],
];

export class SourceKeysAndCodes1764000016000 implements MigrationInterface {
  name = 'SourceKeysAndCodes1764000016000';

  async up(q: QueryRunner): Promise<void> {
    for (const [dataset, field, , after] of DESCRIPTIONS)
      await q.query(`UPDATE catalog_fields SET description = $3 WHERE dataset = $1 AND name = $2`, [
        dataset,
        field,
        after,
      ]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [dataset, field, before] of DESCRIPTIONS)
      await q.query(`UPDATE catalog_fields SET description = $3 WHERE dataset = $1 AND name = $2`, [
        dataset,
        field,
        before,
      ]);
  }
}
