import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `nhs_number_aliases`: NHS numbers a practice's Patient record gave as one person's (SPEC §2; review
 * 28). A record can carry a second NHS number beside the one it is stored under; the centre kept
 * only the stored one, so an objection recorded through the API for the other number reached
 * nothing held (Type 1: the record stayed held; Type 2: it was released), where the same objection
 * written in the practice's extract reached the record. Each pair is kept both ways, per practice
 * and record (`record_id`: the Patient id, '' for a line without one), from the extract that carried
 * it until that practice's extract carries the record without it (`retracted_at`: a second number
 * corrected away stopped counting — review-30; never deleted, so a release can count what was
 * recorded by its snapshot). An objection on either number applies to both (one step, never a
 * chain: `objectionsAsOf`, `activeType1Among`, the release verifier's own reading).
 */
export class NhsNumberAliases1764000061000 implements MigrationInterface {
  name = 'NhsNumberAliases1764000061000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE nhs_number_aliases (
        id bigserial PRIMARY KEY,
        nhs_number char(10) NOT NULL,
        alias char(10) NOT NULL CHECK (alias <> nhs_number),
        practice_ods char(6) NOT NULL,
        record_id varchar(64) NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        retracted_at timestamptz
      )`);
    await q.query(`CREATE INDEX nhs_number_aliases_number_idx ON nhs_number_aliases (nhs_number)`);
    await q.query(
      `CREATE UNIQUE INDEX nhs_number_aliases_live_idx ON nhs_number_aliases (practice_ods, record_id, nhs_number, alias)
        WHERE retracted_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE nhs_number_aliases`);
  }
}
