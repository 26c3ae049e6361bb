import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change to an organisation announces itself on `custodian_bids` too (issue #21): the bid reads
 * the API keeps (`GET /api/bids/:id`, `GET /api/bids`) embed the applicant organisation's name and
 * kind, so a rename — by a service, another process or SQL by hand — must empty them when it
 * commits, as a change to bids, agreements, bid events and bid versions does (a new organisation
 * has no bid yet: inserts are not announced). `organisations`
 * already announces on `custodian_register` (migration 1764000043000) for the public register.
 */
export class OrganisationsNotifyBids1764000044000 implements MigrationInterface {
  name = 'OrganisationsNotifyBids1764000044000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TRIGGER organisations_notify_changed AFTER UPDATE OR DELETE OR TRUNCATE ON organisations
        FOR EACH STATEMENT EXECUTE FUNCTION notify_bids_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER organisations_notify_changed ON organisations`);
  }
}
