import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Type 1 objectors stay linkage candidates after their GP data is deleted (SPEC §3, issue #19).
 *
 * `linkage_type1_keys` keeps, per Type 1 objector, keyed digests (HMAC-SHA-256 under a key derived
 * from PSEUDONYM_KEY_SECRET, computed by the service; see docs/LINKAGE.md) of the demographic keys
 * steps 6 and 7 compare: sex + date of birth + postcode (step 6) and sex + date of birth (step 7),
 * and a digest of the NHS number (`subject`) so that a withdrawal finds them. No clinical data and
 * nothing in clear. Written and read by `libs/linkage` only.
 *
 * Two partial indexes find the rows linked at steps 6 and 7 by sex and date of birth, for the
 * unlinking that follows a Type 1 objection (at once, and again in the re-link job).
 */
export class LinkageType1Keys1764000017000 implements MigrationInterface {
  name = 'LinkageType1Keys1764000017000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE linkage_type1_keys (
        step smallint NOT NULL CHECK (step IN (6, 7)),
        digest bytea NOT NULL CHECK (octet_length(digest) = 32),
        subject bytea NOT NULL CHECK (octet_length(subject) = 32),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (step, digest, subject)
      )`);
    await q.query(`CREATE INDEX linkage_type1_keys_subject_idx ON linkage_type1_keys (subject)`);
    await q.query(`
      CREATE INDEX hes_episodes_demographic_links_idx ON hes_episodes (sex, birth_date) INCLUDE (postcode)
       WHERE linkage_step IN (6, 7)`);
    await q.query(`
      CREATE INDEX social_care_demographic_links_idx ON social_care_records (sex, birth_date) INCLUDE (postcode)
       WHERE linkage_step IN (6, 7)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX social_care_demographic_links_idx`);
    await q.query(`DROP INDEX hes_episodes_demographic_links_idx`);
    await q.query(`DROP TABLE linkage_type1_keys`);
  }
}
