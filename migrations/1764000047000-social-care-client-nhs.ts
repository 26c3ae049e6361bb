import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #26, social-care recall: a social-care row without an NHS number may take the NHS number of
 * the same client's other rows (`LA_CODE + PERSON_ID`; `libs/linkage/src/client-nhs.sql.ts`) and link
 * by the NHS-number steps (`nhs_number_from_client`); and a row of a client that carries no NHS number
 * may take the patient the client's other rows were linked to at steps 6 and 7 (`link_from_client`).
 * The row keeps its NHS_NUMBER as delivered (blank); the flags record that its link rests on the
 * client's other rows. The client lookup uses the key's unique index (`la_code, person_id, start_date`).
 */
export class SocialCareClientNhs1764000047000 implements MigrationInterface {
  name = 'SocialCareClientNhs1764000047000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE social_care_records ADD COLUMN nhs_number_from_client boolean NOT NULL DEFAULT false,
                                       ADD COLUMN link_from_client boolean NOT NULL DEFAULT false`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE social_care_records DROP COLUMN nhs_number_from_client, DROP COLUMN link_from_client`,
    );
  }
}
