import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Change notifications for two more of the API's caches (issue #21; libs/database/src/change-feed.ts),
 * sent when the changing transaction commits, whoever made it (the service, a worker, a migration,
 * or SQL by hand), once per statement:
 * - the catalogue (`catalog_datasets`, `catalog_fields`, `catalog_dimensions`) on `custodian_catalog`;
 * - the tables the public register reads besides bids and agreements (which already announce on
 *   `custodian_bids`): `register_entries`, `register_log`, `bid_versions` and `organisations`, on
 *   `custodian_register`;
 * - bid events (`bid_events`) on `custodian_bids`, like bids and agreements (the API keeps a bid's
 *   events with its bid reads; an internal event such as a vote need not change the bid row).
 */
const CHANNELS: [channel: string, tables: string[]][] = [
  ['custodian_catalog', ['catalog_datasets', 'catalog_fields', 'catalog_dimensions']],
  ['custodian_register', ['register_entries', 'register_log', 'bid_versions', 'organisations']],
];

export class CatalogRegisterNotify1764000043000 implements MigrationInterface {
  name = 'CatalogRegisterNotify1764000043000';

  async up(q: QueryRunner): Promise<void> {
    for (const [channel, tables] of CHANNELS) {
      await q.query(`
        CREATE FUNCTION notify_${channel}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('${channel}', '');
          RETURN NULL;
        END $$`);
      for (const table of tables)
        await q.query(`
          CREATE TRIGGER ${table}_notify_${channel} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
            FOR EACH STATEMENT EXECUTE FUNCTION notify_${channel}()`);
    }
    await q.query(`
      CREATE TRIGGER bid_events_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bid_events
        FOR EACH STATEMENT EXECUTE FUNCTION notify_bids_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER bid_events_notify_changed ON bid_events`);
    for (const [channel, tables] of CHANNELS) {
      for (const table of tables) await q.query(`DROP TRIGGER ${table}_notify_${channel} ON ${table}`);
      await q.query(`DROP FUNCTION notify_${channel}()`);
    }
  }
}
