import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #19: the catalogue says what a source row key becomes in each tier (SPEC §5 "Identifiers by
 * tier") and what form each source code field takes (the formats the loaders now check,
 * `libs/linkage/src/source-codes.ts`). No schema change.
 *
 * Rows already held are brought to the form the loaders now store, where that is a pure
 * normalisation: HES code fields upper-cased, and a SERVICE_TYPE that names a listed service (`Home
 * Care`) stored as its code (`home_care`), so one service is one value in every release and count.
 * Held values that fail a format are left as they are (no data is dropped by a migration); the
 * release still neutralises formula-leading cells. The list is written out here, as it stood when
 * this migration was written.
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

const SERVICE_TYPES = [
  'home_care',
  'residential_care',
  'nursing_care',
  'day_care',
  'reablement',
  'direct_payment',
  'supported_living',
  'equipment_and_adaptations',
  'carer_support',
  'meals',
  'child_in_need',
  'child_protection_plan',
  'looked_after_child',
  'short_breaks',
  'other',
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
    await q.query(`
      UPDATE hes_episodes
         SET diagnosis_icd10 = upper(diagnosis_icd10), procedure_opcs4 = upper(procedure_opcs4),
             provider_code = upper(provider_code)
       WHERE diagnosis_icd10 <> upper(diagnosis_icd10) OR procedure_opcs4 <> upper(procedure_opcs4)
          OR provider_code <> upper(provider_code)`);
    const code = `lower(regexp_replace(btrim(service_type), '[[:space:]_-]+', '_', 'g'))`;
    await q.query(
      `UPDATE social_care_records SET service_type = ${code}
        WHERE ${code} = ANY($1::text[]) AND service_type <> ${code}`,
      [SERVICE_TYPES],
    );
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
