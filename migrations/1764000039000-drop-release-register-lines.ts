import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The `release_register_lines` view (migration 1764000006000) has had no reader since the register
 * library came to own its lines (`register_entries`, `register_log`): dropped, so nothing reads
 * around the register's owner. `down` puts it back as it was.
 */
export class DropReleaseRegisterLines1764000039000 implements MigrationInterface {
  name = 'DropReleaseRegisterLines1764000039000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW release_register_lines`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE VIEW release_register_lines AS
      SELECT r.id AS release_id,
             r.completed_at AS released_at,
             r.bid_id,
             r.tier,
             r.legal_basis,
             r.manifest -> 'objections' ->> 'applied' AS objections_applied,
             r.manifest -> 'objections' ->> 'reason' AS objections_reason,
             r.spec ->> 'agreementReference' AS agreement_reference,
             (SELECT array_agg(d ->> 'dataset' ORDER BY d ->> 'dataset') FROM jsonb_array_elements(r.spec -> 'datasets') d) AS datasets,
             r.destroyed_at
        FROM releases r
       WHERE r.state = 'completed'`);
    await q.query(`GRANT SELECT ON release_register_lines TO custodian_app`);
  }
}
